"""The Brownout terminal app: screens, widgets and the CLI entry point. Imports sim, never the other way."""
