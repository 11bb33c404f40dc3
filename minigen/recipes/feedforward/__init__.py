"""Feed-forward stylisation: train a generator once, then stylise in one forward pass.

Four methods (``minigen train-style --method ...``):

- johnson      Johnson et al. 2016: a transform net trained with the perceptual loss
               L = w_c l_feat(relu2_2) + w_s sum_l E_l(Gram) + w_tv TV(y)
- texture-net  Ulyanov et al. 2016: the multi-scale generator; noise only (a texture)
               or noise plus the content image (stylisation, with the content term)
- multistyle   Dumoulin et al. 2017: the transform net with conditional instance norm,
               each image of the batch paired with a random one of the styles
- adain        Huang & Belongie 2017: a decoder g for a fixed VGG encoder f,
               L = ||f(g(t)) - t||^2 + lambda sum_l (||mu(phi_l(g(t))) - mu(phi_l(s))||^2
                                               + ||sigma(phi_l(g(t))) - sigma(phi_l(s))||^2)

The pieces: ``methods`` (what sets each method apart, one small class each),
``data`` (content batches, style images), ``train`` (the trainer, on
``training.fit``), ``stylize`` (inference from a checkpoint alone).
"""
from .data import (ContentSource, image_files, load_input, mix_vector, parse_mix, parse_style,  # noqa: F401
                   to_tensor)
from .methods import (ADAIN_LAYERS, CONTENT_LAYER, DEFAULT_WEIGHTS, METHODS, STYLE_LAYERS,  # noqa: F401
                      activation_bytes, feature_net, net_options)
from .stylize import Stylizer, load_model, pad_to, sample_textures  # noqa: F401
from .train import KIND, train_style  # noqa: F401

