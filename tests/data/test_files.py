"""Finding image files: files and folders, in order, with one-line errors."""
import os

import numpy as np
import pytest

from minigen.data import files
from minigen.data.files import find_images, list_images
from minigen.data.images import save_image
from minigen.errors import MinigenError


@pytest.fixture
def folder(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("b.png", "a.JPG", "c.bmp"):
        save_image(photos / name, np.zeros((4, 4, 3), np.float32))
    (photos / "notes.txt").write_text("not an image")
    return photos


def test_files_and_folders_in_the_order_given_a_folder_sorted_by_name(tmp_path, folder):
    single = tmp_path / "z.png"
    save_image(single, np.zeros((2, 2), np.float32))
    found = find_images([str(single), folder])
    assert [os.path.basename(p) for p in found] == ["z.png", "a.JPG", "b.png", "c.bmp"]
    assert find_images(folder) == list_images(folder)  # one path needs no list
    assert find_images(str(single)) == [str(single)]


def test_a_missing_path_is_named_with_what_it_was_for(tmp_path):
    with pytest.raises(MinigenError, match=r"missing\.png: no such file or folder \(style\)$"):
        find_images([tmp_path / "missing.png"], "style")


def test_a_folder_without_images_is_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(MinigenError, match="empty: no image files"):
        find_images([tmp_path / "empty"], "content")
    with pytest.raises(MinigenError, match="not a folder"):
        list_images(tmp_path / "missing")


def test_an_unreadable_folder_gives_a_sentence_naming_it(folder, monkeypatch):
    def denied(path):
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(files.os, "listdir", denied)
    with pytest.raises(MinigenError) as info:
        find_images([folder])
    message = str(info.value)
    assert message == f"{folder}: this folder cannot be read (permission denied)"
    assert "\n" not in message and "Error" not in message
