from setuptools import find_packages, setup

setup(
    name="minigen",
    version="0.1.0",
    description="Generative ConvNets from scratch on a tiny NumPy/CuPy autograd engine",
    python_requires=">=3.9",
    packages=find_packages(include=["minigen", "minigen.*"]) + ["minigen.kernels", "minigen.reference"],
    # kernels/ and reference/ live at the top of the repository, beside minigen/.
    package_dir={"minigen.kernels": "kernels", "minigen.reference": "reference"},
    package_data={"minigen.kernels": ["*.cu"], "minigen.zoo": ["*.safetensors", "README.md"]},
    install_requires=["numpy>=1.22", "scipy>=1.8", "pillow>=9"],
    extras_require={"cuda": ["cupy"], "test": ["pytest>=7"]},
    entry_points={"console_scripts": ["minigen=minigen.cli:main"]},
)
