"""The LeNet training recipe: shifts, batches, a run that learns, a resume that ends where an
uninterrupted run does, and the slim export that zoo.load_network reads."""
import numpy as np

from minigen.data.digits import digits
from minigen.recipes import classifier
from minigen.zoo import load_network

SETTINGS = {"batch": 16, "lr": 3e-3, "shift": 2, "seed": 0, "data": "procedural"}


def test_shift_images_moves_whole_images():
    x = np.zeros((1, 1, 5, 5), np.float32)
    x[0, 0, 2, 2] = 1
    rng = np.random.default_rng(0)
    for _ in range(20):
        y = classifier.shift_images(x, 2, rng)
        assert y.sum() == 1  # a pixel two steps from every border never leaves the image
    seen = set()
    for _ in range(200):
        y = classifier.shift_images(x, 2, rng)
        seen.add(tuple(np.argwhere(y[0, 0])[0]))
    assert seen == {(r, c) for r in range(5) for c in range(5)}  # every shift from -2 to 2 in y and x
    edge = np.zeros((1, 1, 5, 5), np.float32)
    edge[0, 0, 0, 0] = 1
    outs = [classifier.shift_images(edge, 1, rng).sum() for _ in range(100)]
    assert set(outs) == {0.0, 1.0}  # shifted off the image or kept, never smeared
    assert classifier.shift_images(x, 0, rng) is x


def test_batches_walk_a_permutation_per_epoch():
    first = np.concatenate([classifier.batch_indices(50, 10, 0, i) for i in range(1, 6)])
    assert sorted(first.tolist()) == list(range(50))
    second = np.concatenate([classifier.batch_indices(50, 10, 0, i) for i in range(6, 11)])
    assert sorted(second.tolist()) == list(range(50)) and not np.array_equal(first, second)


def test_training_learns_and_resumes_exactly(tmp_path):
    images, labels = digits(160, seed=0)
    model, history = classifier.train_lenet(images, labels, 40, SETTINGS, log_every=100)
    assert np.mean(history["loss"][-5:]) < 0.6 * np.mean(history["loss"][:5])
    straight, _ = classifier.train_lenet(images, labels, 12, SETTINGS, log_every=100)
    ckpt = str(tmp_path / "run.npz")
    classifier.train_lenet(images, labels, 12, SETTINGS, out=ckpt, log_every=100, time_limit=0)  # stops early
    resumed, _ = classifier.train_lenet(images, labels, 12, SETTINGS, out=ckpt, resume=True, log_every=100)
    for (name, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        np.testing.assert_array_equal(a, b, err_msg=name)


def test_export_is_read_back_by_the_zoo_loader(tmp_path):
    images, labels = digits(64, seed=1)
    model, _ = classifier.train_lenet(images, labels, 3, SETTINGS, log_every=100)
    path = str(tmp_path / "lenet.safetensors")
    classifier.export(model, path, dict(SETTINGS, steps=3), 0.5)
    net, ckpt = load_network(path)
    assert ckpt.kind == "classifier" and ckpt.extra["test_accuracy"] == 0.5 and not ckpt.optimizers
    x = images[:8]
    np.testing.assert_array_equal(classifier.predict(net, x[:, None] / 255.0)[0],
                                  classifier.predict(model, x[:, None] / 255.0)[0])
