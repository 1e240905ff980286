"""screens of the Brownout app."""
