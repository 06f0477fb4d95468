"""Project-wide pytest configuration.

nbval re-executes every chapter and compares the new outputs with the stored ones, but by default it
skips images.  We compare images too (byte for byte), so that `make test` proves that executing a
chapter again reproduces *every* stored output, figures included.
"""

import nbval.plugin

_original_init = nbval.plugin.IPyNbFile.__init__


def _init_comparing_images(self, *args, **kwargs):
    _original_init(self, *args, **kwargs)
    self.skip_compare = tuple(key for key in self.skip_compare if key != "image/png")


nbval.plugin.IPyNbFile.__init__ = _init_comparing_images
