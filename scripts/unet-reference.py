"""U-Net (Ronneberger, Fischer, Brox 2015, "U-Net: Convolutional Networks for Biomedical Image
Segmentation", arXiv:1505.04597, Fig. 1) written from the paper in PyTorch, with padded 3x3 convolutions
(padding = 1) so that no cropping is needed — the parameters are those of the paper's network either way.

Prints the parameter counts and the state dict's names and shapes in registration order, as JSON, for
test/reference/state-dicts/unet.json and the `expect` lines of examples/unet.nn:

    /usr/bin/python3 scripts/unet-reference.py > test/reference/state-dicts/unet.json
"""
import json

import torch
from torch import nn


def double_conv(cin, cout):
    # "two 3x3 convolutions (unpadded convolutions), each followed by a rectified linear unit (ReLU)"
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(), nn.Conv2d(cout, cout, 3, padding=1), nn.ReLU()
    )


class Down(nn.Module):
    # "a 2x2 max pooling operation with stride 2 for downsampling. At each downsampling step we double the
    # number of feature channels."
    def __init__(self, cin, cout):
        super().__init__()
        self.pool = nn.MaxPool2d(2)
        self.conv = double_conv(cin, cout)

    def forward(self, x):
        return self.conv(self.pool(x))


class Up(nn.Module):
    # "an upsampling of the feature map followed by a 2x2 convolution ("up-convolution") that halves the
    # number of feature channels, a concatenation with the correspondingly cropped feature map from the
    # contracting path, and two 3x3 convolutions, each followed by a ReLU."
    def __init__(self, cin, cout):
        super().__init__()
        self.up = nn.ConvTranspose2d(cin, cout, 2, stride=2)
        self.conv = double_conv(2 * cout, cout)

    def forward(self, x, skip):
        return self.conv(torch.cat([skip, self.up(x)], dim=1))


class UNet(nn.Module):
    def __init__(self, channels=1, classes=2):
        super().__init__()
        self.inc = double_conv(channels, 64)
        self.down1 = Down(64, 128)
        self.down2 = Down(128, 256)
        self.down3 = Down(256, 512)
        self.down4 = Down(512, 1024)
        self.up1 = Up(1024, 512)
        self.up2 = Up(512, 256)
        self.up3 = Up(256, 128)
        self.up4 = Up(128, 64)
        # "At the final layer a 1x1 convolution is used to map each 64-component feature vector to the
        # desired number of classes."
        self.outc = nn.Conv2d(64, classes, 1)

    def forward(self, x):
        x1 = self.inc(x)
        x2 = self.down1(x1)
        x3 = self.down2(x2)
        x4 = self.down3(x3)
        x5 = self.down4(x4)
        u = self.up1(x5, x4)
        u = self.up2(u, x3)
        u = self.up3(u, x2)
        u = self.up4(u, x1)
        return self.outc(u)


model = UNet()
assert model(torch.zeros(1, 1, 64, 64)).shape == (1, 2, 64, 64)
print(
    json.dumps(
        {
            "model": "unet",
            "source": "scripts/unet-reference.py: U-Net of arXiv:1505.04597 (Fig. 1) with padded 3x3 convolutions",
            "torch": torch.__version__,
            "total_parameters": sum(p.numel() for p in model.parameters()),
            "weights": sum(p.numel() for n, p in model.named_parameters() if n.endswith("weight")),
            "biases": sum(p.numel() for n, p in model.named_parameters() if n.endswith("bias")),
            "note": "state_dict order; the network has no buffers",
            "parameters": [{"name": n, "shape": list(p.shape)} for n, p in model.named_parameters()],
            "buffers": [{"name": n, "shape": list(b.shape)} for n, b in model.named_buffers()],
        },
        indent=1,
    )
)
