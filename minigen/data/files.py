"""Finding image files: what counts as one, and the image files of a folder.

Every command that takes images or folders of them finds them here, so a
missing path, an empty folder or one that cannot be read gets the same
one-line error everywhere.
"""
import os

from ..errors import MinigenError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".ppm", ".pgm", ".webp")


def find_images(paths, what="input"):
    """Image files from files and folders, in the order given: a file as it is, a folder as
    its image files (by extension, sorted by name). ``paths`` is one path or a list of them;
    ``what`` names them in the error for a path that does not exist."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    files = []
    for p in map(os.fspath, paths):
        if os.path.isdir(p):
            files += list_images(p)
        elif os.path.exists(p):
            files.append(p)
        else:
            raise MinigenError(f"{p}: no such file or folder ({what})")
    return files


def list_images(folder):
    """The image files of ``folder`` (by extension, sorted by name); a MinigenError if there are none."""
    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        raise MinigenError(f"{folder}: not a folder of images")
    try:
        names = sorted(n for n in os.listdir(folder) if n.lower().endswith(IMAGE_EXTENSIONS))
    except PermissionError:
        raise MinigenError(f"{folder}: this folder cannot be read (permission denied)") from None
    except OSError as e:
        raise MinigenError(f"{folder}: this folder cannot be read ({e.strerror or 'system error'})") from None
    if not names:
        raise MinigenError(f"{folder}: no image files ({', '.join(IMAGE_EXTENSIONS)}) in this folder")
    return [os.path.join(folder, n) for n in names]
