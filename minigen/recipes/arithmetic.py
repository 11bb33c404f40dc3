"""Vector arithmetic on a digit generator's codes (Radford et al. 2016, "smiling woman − neutral woman
+ neutral man = smiling man"), with groups picked and results checked by measurement.

From ``pool`` samples G(z), the bundled LeNet gives each one's class and an
image moment its attribute (``mass``: the mean ink, thin or thick strokes;
``slant``: cov(x, y) / var(y), leaning left or right; ``data.digits``). Three
samples per group, the codes of each group averaged (one sample's code is noisy;
the mean keeps what they share):

    A = class a, the highest attribute    B = class a, the lowest    C = class c, the lowest
    result = z̄_A − z̄_B + z̄_C             (and variants with noise U(−0.25, 0.25) added to it)

If the codes add like the features, A − B is the attribute's direction, and
the result is a c with a high attribute: the class and the attribute of every
decoded result are measured and reported, so the arithmetic is checked, not
just shown.
"""
import numpy as np

from ..data.digits import slant_of, stroke_mass
from ..errors import MinigenError
from .classifier import predict

ATTRIBUTES = {"mass": stroke_mass, "slant": slant_of}
PER_GROUP = 3


def measure(images, classifier, attribute, device="cpu"):
    """(class, confidence, attribute) of (N, 1, 28, 28) images in [0, 1]."""
    logits, _ = predict(classifier, images, device=device)
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    return p.argmax(1), p.max(1), ATTRIBUTES[attribute](images[:, 0])


def _pick_classes(cls, ok):
    """The two classes with the most confidently read samples (a first)."""
    counts = np.bincount(cls[ok], minlength=10)
    a, c = np.argsort(-counts, kind="stable")[:2]
    return int(a), int(c)


def arithmetic(g, attribute="mass", classes=None, pool=2000, variants=8, seed=0, device="cpu"):
    """The groups and results of z̄_A − z̄_B + z̄_C as a dict (see the module docstring); ``classes`` (a, c)
    or None to pick the two most frequent classes."""
    from ..zoo import load_network
    lenet, _ = load_network("lenet5", device)
    rng = np.random.default_rng(seed)
    z = g.codes(pool, rng)
    x = g.decode_images(z, device=device)
    cls, conf, att = measure(x, lenet, attribute, device)
    ok = conf > 0.9  # samples the classifier reads with confidence
    a, c = classes if classes is not None else _pick_classes(cls, ok)
    if a == c:
        raise MinigenError(f"--classes {a} {c}: A and C must be different classes")
    groups = {}
    for name, k, high in (("A", a, True), ("B", a, False), ("C", c, False)):
        idx = np.flatnonzero(ok & (cls == k))
        if len(idx) < 2 * PER_GROUP:
            raise MinigenError(f"class {k}: only {len(idx)} of {pool} samples read as {k} with confidence "
                               f"> 0.9; draw a larger --pool or choose other --classes")
        order = idx[np.argsort(att[idx], kind="stable")]
        pick = order[-PER_GROUP:] if high else order[:PER_GROUP]
        groups[name] = {"class": k, "index": pick, "images": x[pick], "attribute": att[pick],
                        "code": z[pick].mean(0)}
    means = g.decode_images(np.stack([groups[n]["code"] for n in "ABC"]), device=device)
    m_cls, _, m_att = measure(means, lenet, attribute, device)
    for i, n in enumerate("ABC"):
        groups[n].update(mean_image=means[i], mean_class=int(m_cls[i]), mean_attribute=float(m_att[i]))
    target = groups["A"]["code"] - groups["B"]["code"] + groups["C"]["code"]
    codes = target[None] + np.concatenate([np.zeros((1, g.nz)), rng.uniform(-0.25, 0.25, (variants - 1, g.nz))])
    images = g.decode_images(codes.astype(z.dtype), device=device)
    r_cls, _, r_att = measure(images, lenet, attribute, device)
    return {"attribute": attribute, "classes": (a, c), "pool": pool, "pool_attribute": float(np.median(att[ok])),
            "groups": groups, "results": {"images": images, "class": r_cls, "attribute": r_att}}


def table(result):
    """Lines of text: each group's samples and mean-code image, the results, and the check."""
    name, (a, c) = result["attribute"], result["classes"]
    lines = [f"gan-arithmetic: {name}, groups of {PER_GROUP} from {result['pool']} samples "
             f"(median {name} of the confident ones {result['pool_attribute']:.3f})",
             f"{'group':<22} {'class':>5} {name + ' of the samples':>26}   mean code: class {name}"]
    what = {"A": f"A: class {a}, high {name}", "B": f"B: class {a}, low {name}", "C": f"C: class {c}, low {name}"}
    for n in "ABC":
        gr = result["groups"][n]
        lines.append(f"{what[n]:<22} {gr['class']:>5} {' '.join(f'{v:8.3f}' for v in gr['attribute']):>26}"
                     f"   {gr['mean_class']:>16} {gr['mean_attribute']:.3f}")
    r = result["results"]
    lines.append(f"{'A - B + C':<22} classes {' '.join(map(str, r['class']))}; {name} "
                 f"{' '.join(f'{v:.3f}' for v in r['attribute'])}")
    hits = int((r["class"] == c).sum())
    moved = float(np.mean(r["attribute"])) - result["groups"]["C"]["mean_attribute"]
    lines.append(f"check: {hits} of {len(r['class'])} results read as class {c}; their mean {name} "
                 f"{np.mean(r['attribute']):.3f} is {moved:+.3f} from C's mean-code image "
                 f"({'higher, as A - B asks' if moved > 0 else 'not higher: the arithmetic did not carry it'})")
    return lines


def picture(result):
    """An (H, W, 1) picture: a row per group (its samples, a gap, its mean code's image), then the results."""
    from ..report import image_grid
    r = result["results"]["images"]
    ncol = max(len(r), PER_GROUP + 2)
    blank = np.ones((1, 1, 28, 28), np.float32)
    rows = []
    for n in "ABC":
        gr = result["groups"][n]
        row = [gr["images"], blank, gr["mean_image"][None]]
        rows.append(np.concatenate(row + [blank] * (ncol - PER_GROUP - 2)))
    rows.append(np.concatenate([r] + [blank] * (ncol - len(r))))
    return image_grid(np.concatenate(rows), ncol=ncol)
