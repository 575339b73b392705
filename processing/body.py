"""The lifter seen from the side: joint positions from the two measured segment angles.

A stick figure in the sagittal plane, facing +x, the floor at y = 0, the ankle at x = 0
(metres). hinge measures two segments (``docs/domain.md``): the thigh and the trunk (the
lumbar sensor), each as an inclination from the calibrated upright pose. The shank is not
measured: it is drawn **vertical, an assumption** (in a deadlift the shin stays near vertical;
in a squat it does not, and the figure then shows the knee too far back). The arms are drawn
hanging straight down from the shoulder (also assumed: a deadlift's arms hang vertically),
with the bar at the hands.

Segment lengths are fractions of body height H from Winter's anthropometric table
(D. A. Winter, *Biomechanics and Motor Control of Human Movement*, 4th ed., Wiley 2009,
Fig. 4.1, after Drillis & Contini 1966): heights above the floor of the ankle (0.039 H),
knee (0.285 H), hip / greater trochanter (0.530 H), shoulder / glenohumeral joint
(0.818 H) and chin (0.870 H); head (chin to vertex) 0.130 H; upper arm 0.186 H, forearm
0.146 H, hand 0.108 H; foot length 0.152 H. So shank 0.246 H, thigh 0.245 H, trunk (hip
to shoulder) 0.288 H, neck (shoulder to chin) 0.052 H, shoulder to the middle of the hand
(where the bar is held) 0.186 + 0.146 + 0.108 / 2 = 0.386 H.

Angle conventions (``docs/domain.md``): ``thigh_deg`` > 0 puts the knee forward of the hip
(hip behind the knee), ``trunk_deg`` > 0 leans the trunk forward. So, with the shank
vertical, ``knee = (0, ankle + shank)``, ``hip = knee + thigh * (-sin thigh_deg,
cos thigh_deg)``, ``shoulder = hip + trunk * (sin trunk_deg, cos trunk_deg)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_HEIGHT_M = 1.75
#: Plausible standing heights for ``--height`` (metres).
HEIGHT_RANGE_M = (1.0, 2.5)

#: Winter (2009), Fig. 4.1: heights above the floor as fractions of body height.
WINTER_HEIGHTS = {"ankle": 0.039, "knee": 0.285, "hip": 0.530, "shoulder": 0.818, "chin": 0.870}
#: Winter (2009), Fig. 4.1: segment lengths as fractions of body height.
WINTER_LENGTHS = {"head": 0.130, "upper_arm": 0.186, "forearm": 0.146, "hand": 0.108, "foot": 0.152}

#: The joints ``pose`` returns, foot to head, and the bones drawn between them.
JOINTS = ("toe", "heel", "ankle", "knee", "hip", "shoulder", "neck", "head", "hand")
BONES = (("heel", "toe"), ("ankle", "knee"), ("knee", "hip"), ("hip", "shoulder"), ("shoulder", "neck"))
#: Drawn but not measured: the shank (vertical) and the arm (hanging).
ASSUMED_BONES = (("ankle", "knee"), ("shoulder", "hand"))


@dataclass(frozen=True)
class Segments:
    """Segment lengths (metres) of a lifter ``height_m`` tall, from Winter's ratios."""

    height_m: float
    ankle: float  # floor to ankle joint
    shank: float  # ankle to knee
    thigh: float  # knee to hip
    trunk: float  # hip to shoulder
    neck: float  # shoulder to chin
    head: float  # chin to vertex
    arm: float  # shoulder to the middle of the hand (the bar)
    foot: float  # heel to toe

    @classmethod
    def from_height(cls, height_m: float = DEFAULT_HEIGHT_M) -> Segments:
        h = float(height_m)
        if not h > 0:
            raise ValueError(f"height must be positive, got {height_m}")
        z, w = WINTER_HEIGHTS, WINTER_LENGTHS
        return cls(
            height_m=h,
            ankle=z["ankle"] * h,
            shank=(z["knee"] - z["ankle"]) * h,
            thigh=(z["hip"] - z["knee"]) * h,
            trunk=(z["shoulder"] - z["hip"]) * h,
            neck=(z["chin"] - z["shoulder"]) * h,
            head=w["head"] * h,
            arm=(w["upper_arm"] + w["forearm"] + w["hand"] / 2) * h,
            foot=w["foot"] * h,
        )


def pose(
    trunk_deg: float | np.ndarray, thigh_deg: float | np.ndarray, seg: Segments | None = None
) -> dict[str, np.ndarray]:
    """Joint positions (x forward, y up; metres) for the segment angles.

    ``trunk_deg`` and ``thigh_deg`` are scalars or arrays of one shape S; every joint comes
    back with shape S + (2,). ``head`` is the centre of the head (a circle of diameter
    ``seg.head``), ``neck`` the chin level on the trunk's line, ``hand`` the bar (arms
    hanging vertically). NaN angles give NaN joints above the knee.
    """
    seg = seg or Segments.from_height()
    tr = np.radians(np.asarray(trunk_deg, dtype=float))
    th = np.radians(np.asarray(thigh_deg, dtype=float))
    shape = np.broadcast(tr, th).shape
    tr, th = np.broadcast_to(tr, shape), np.broadcast_to(th, shape)

    def point(x: float | np.ndarray, y: float | np.ndarray) -> np.ndarray:
        p = np.empty(shape + (2,))
        p[..., 0], p[..., 1] = x, y
        return p

    ankle = point(0.0, seg.ankle)
    knee = point(0.0, seg.ankle + seg.shank)  # the shank is assumed vertical
    hip = knee + seg.thigh * np.stack([-np.sin(th), np.cos(th)], -1)
    up = np.stack([np.sin(tr), np.cos(tr)], -1)  # the trunk's direction, hip to shoulder
    shoulder = hip + seg.trunk * up
    neck = shoulder + seg.neck * up
    head = neck + (seg.head / 2) * up
    hand = shoulder - np.array([0.0, seg.arm])
    heel = point(-0.25 * seg.foot, 0.0)  # the ankle a quarter of the foot from the heel
    toe = point(0.75 * seg.foot, 0.0)
    return {
        "toe": toe,
        "heel": heel,
        "ankle": ankle,
        "knee": knee,
        "hip": hip,
        "shoulder": shoulder,
        "neck": neck,
        "head": head,
        "hand": hand,
    }
