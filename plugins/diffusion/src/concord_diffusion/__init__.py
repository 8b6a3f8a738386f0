"""concord-diffusion: improved consistency training (iCT) on diffusers + accelerate."""

__version__ = "0.1.0"
