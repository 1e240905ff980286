"""The drills that ship with Brownout: one TOML file each (the package only carries them as data)."""
