"""dialogs of the Brownout app."""
