"""widgets of the Brownout app."""
