"""The 2-D U-Net of the paper (Supplementary S2.1).

Six resolution levels (256 -> 8 for a 256 x 256 input): five analysis stages of two padded
3x3 convolutions with batch norm and ReLU followed by 2x2 max pooling, a central block of
two such convolutions, five synthesis stages of a 2x2 stride-2 transposed convolution,
concatenation with the analysis feature map of the same size, and two convolutions.
The head is a 1x1 convolution. The network returns logits; `probabilities` applies the
paper's output activation: sigmoid for a single class, (optional ReLU and) softmax over
background plus classes for the multi-class model.
"""

from __future__ import annotations

import torch
from torch import nn

LEVELS = 6


class ConvBlock(nn.Sequential):
    """Two padded 3x3 convolutions, each followed by batch norm and ReLU."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__(
            nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )


class UpBlock(nn.Module):
    """2x2 stride-2 transposed convolution, skip concatenation, ConvBlock."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.up = nn.ConvTranspose2d(in_channels, out_channels, 2, stride=2)
        self.conv = ConvBlock(2 * out_channels, out_channels)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.conv(torch.cat([skip, self.up(x)], dim=1))


class UNet2D(nn.Module):
    """U-Net with `levels` resolutions; widths base_width * 2**level.

    in_channels: number of input modalities. num_classes: lesion classes (1 for a single
    class task, 2 for CMB + iron). The multi-class head has num_classes + 1 outputs
    (background first) and softmax; the single-class head has one output and sigmoid.
    """

    def __init__(self, in_channels: int, num_classes: int = 2, base_width: int = 16, levels: int = LEVELS, head_relu: bool = False):
        super().__init__()
        if levels < 2:
            raise ValueError("a U-Net needs at least two resolution levels")
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.base_width = base_width
        self.levels = levels
        self.head_relu = head_relu
        widths = [base_width * 2**level for level in range(levels)]
        self.down = nn.ModuleList()
        channels = in_channels
        for width in widths[:-1]:
            self.down.append(ConvBlock(channels, width))
            channels = width
        self.pool = nn.MaxPool2d(2)
        self.bottom = ConvBlock(widths[-2], widths[-1])
        self.up = nn.ModuleList(UpBlock(widths[level + 1], widths[level]) for level in reversed(range(levels - 1)))
        self.head = nn.Conv2d(widths[0], 1 if num_classes == 1 else num_classes + 1, 1)

    @property
    def size_multiple(self) -> int:
        return 2 ** (self.levels - 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
            x = self.pool(x)
        x = self.bottom(x)
        for block, skip in zip(self.up, reversed(skips)):
            x = block(x, skip)
        return self.head(x)

    def probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        """Per-class foreground probabilities (N, num_classes, H, W) from logits."""
        if self.num_classes == 1:
            return torch.sigmoid(logits)
        if self.head_relu:
            logits = torch.relu(logits)
        return torch.softmax(logits, dim=1)[:, 1:]
