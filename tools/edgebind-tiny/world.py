"""EdgeBind-tiny's synthetic world.

A scene is one concept a sensor rig meets (a dog, a siren, a person falling ...) plus nuisances
(position, distance, colours, background, lighting, noise, loudness, speed). Every modality is
rendered from the same scene description:

- image   uint8 [224,224,3]   painted with PIL from a list of parts
- depth   float32 [224,224]   metres, the same parts painted with their distance (painter's order)
- thermal float32 [224,224]   degrees C, the same parts painted with their temperature
- audio   float32 [32000]     2 s at 16 kHz in [-1,1], procedural sound of the concept + noise
- imu     float32 [2000,6]    10 s at 200 Hz of the camera wearer: ax,ay,az (m/s^2, with gravity),
                              gx,gy,gz (rad/s)
- caption str                 template + synonym (+ sometimes an attribute of the scene)

Everything is a pure function of (seed, concept): `render(seed, concept)` draws all randomness
from numpy's PCG64 seeded with the seed. Training uses seeds [0, N); evaluation uses seeds from
EVAL_SEED_BASE upward, so the two never overlap.
"""
from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage, signal

SIZE = 224
SR = 16000
AUDIO_SAMPLES = 2 * SR
IMU_RATE = 200
IMU_SAMPLES = 2000
G = 9.80665
FAR_M = 60.0  # sky / no return; stays below 65.535 m so it survives a 16-bit millimetre PNG
EVAL_SEED_BASE = 1_000_000
DEMO_SEED_BASE = 2_000_000

# concept key -> (article used in prompts, canonical phrase, synonyms)
CONCEPTS = [
    ("siren", "a ", "siren", ["siren", "ambulance siren", "police siren", "emergency siren", "wailing siren", "ambulance"]),
    ("dog", "a ", "dog", ["dog", "barking dog", "puppy", "hound", "dog barking"]),
    ("engine", "an ", "engine", ["engine", "running engine", "motor", "idling engine", "diesel engine", "engine running"]),
    ("rain", "", "rain", ["rain", "rainfall", "heavy rain", "rainstorm", "downpour", "rain falling"]),
    ("speech", "a ", "person speaking", ["person speaking", "person talking", "talking person", "speaker", "man talking", "woman speaking"]),
    ("bird", "a ", "bird", ["bird", "singing bird", "songbird", "chirping bird", "bird singing"]),
    ("glass_breaking", "", "glass breaking", ["glass breaking", "breaking glass", "shattering window", "broken window", "shattered glass", "window breaking"]),
    ("knocking", "", "knocking on a door", ["knocking on a door", "knock on a door", "knocking", "door knock", "someone knocking"]),
    ("fire", "a ", "fire", ["fire", "campfire", "flames", "burning fire", "blaze", "fire burning"]),
    ("fan", "a ", "fan", ["fan", "electric fan", "spinning fan", "desk fan", "whirring fan", "fan running"]),
    ("walking", "a ", "person walking", ["person walking", "walking person", "pedestrian", "man walking", "woman walking", "someone walking"]),
    ("running", "a ", "person running", ["person running", "running person", "jogger", "runner", "man running", "woman running"]),
    ("falling", "a ", "person falling", ["person falling", "falling person", "person falling down", "someone falling", "person who fell", "fall"]),
    ("car", "a ", "car", ["car", "passing car", "automobile", "sedan", "car driving by", "car passing"]),
]
CONCEPT_KEYS = [c[0] for c in CONCEPTS]
NUM_CONCEPTS = len(CONCEPTS)

# Scenes with none of the concepts (an empty scene, background noise, a wearer standing still). They are
# trained like a concept, label BACKGROUND, so that a runtime can offer "nothing of interest" as a class;
# zero-shot evaluation stays over the 14 concepts.
BACKGROUND = NUM_CONCEPTS
BACKGROUND_SYNONYMS = ["empty scene", "empty room", "empty street", "nothing", "nothing happening", "quiet scene",
                       "empty place", "background"]
BACKGROUND_PROMPT = "a photo of an empty scene"
BACKGROUND_ENTRY = ("background", "a ", "empty scene", BACKGROUND_SYNONYMS)  # shaped like a CONCEPTS entry
BACKGROUND_SEED_BASE = 3_000_000
# Localisation sets (tools/edgebind-tiny/make_localisation_set.py): thresholds are tuned on the first,
# figures are reported on the second; neither is used in training.
LOC_TUNE_SEED_BASE = 4_000_000
LOC_HELDOUT_SEED_BASE = 5_000_000

CAPTION_TEMPLATES = [
    "a photo of {a}{x}", "a picture of {a}{x}", "an image of {a}{x}", "{a}{x}", "{x}",
    "the sound of {a}{x}", "a recording of {a}{x}", "{a}{x} nearby", "there is {a}{x}",
    "a video of {a}{x}", "a scene with {a}{x}", "{a}{x} in the scene", "a blurry photo of {a}{x}",
    "a close up of {a}{x}", "a noisy recording of {a}{x}",
]


def article_for(x: str, default: str) -> str:
    if default == "" or x.startswith(("someone", "fall", "nothing", "background")):
        return ""
    return "an " if x[0] in "aeiou" else "a "


def zero_shot_prompt(concept_index: int) -> str:
    _, art, canon, _ = CONCEPTS[concept_index]
    return f"a photo of {art}{canon}"


def zero_shot_prompts() -> list[str]:
    return [zero_shot_prompt(i) for i in range(NUM_CONCEPTS)]


def caption_corpus() -> list[str]:
    """Every caption the generator can emit without attributes (for BPE training)."""
    out = []
    for _, art, _, syns in CONCEPTS + [BACKGROUND_ENTRY]:
        for s in syns:
            a = article_for(s, art)
            for t in CAPTION_TEMPLATES:
                out.append(t.format(a=a, x=s))
                for attr in ATTRIBUTES:
                    out.append(t.format(a=a, x=s) + " " + attr)
    return out


ATTRIBUTES = ["at night", "in daylight", "on the left", "on the right", "in the center", "far away",
              "up close", "indoors", "outdoors", "in a loud place", "in a quiet place"]


# ----------------------------------------------------------------------------------------------
# painting: one list of parts -> RGB, depth, thermal

class Canvas:
    """Paints the same primitive into colour, depth (m) and temperature (C) layers."""

    def __init__(self, rgb: np.ndarray, depth: np.ndarray, temp: np.ndarray):
        self.rgb = Image.fromarray(rgb)
        self.dep = Image.fromarray(depth.astype(np.float32), mode="F")
        self.tmp = Image.fromarray(temp.astype(np.float32), mode="F")
        self.d_rgb = ImageDraw.Draw(self.rgb)
        self.d_dep = ImageDraw.Draw(self.dep)
        self.d_tmp = ImageDraw.Draw(self.tmp)
        # Ground truth for localisation: one coverage mask per object, painted alongside the colour
        # layer. It draws no random numbers and touches no other layer, so renders stay bit-identical.
        self.masks: dict[str, Image.Image] = {}
        self.order: list[str] = []
        self._d_mask = None

    def mark(self, name: str | None):
        """Parts painted from now on belong to object `name` (None: scenery, e.g. a bird's branch)."""
        if name is None:
            self._d_mask = None
            return
        if name not in self.masks:
            self.masks[name] = Image.new("L", self.rgb.size, 0)
        if name in self.order:
            self.order.remove(name)
        self.order.append(name)
        self._d_mask = ImageDraw.Draw(self.masks[name])

    def boxes(self) -> dict[str, list[int] | None]:
        """Per object: [x, y, width, height] (pixels) around its visible pixels, objects painted later
        hiding earlier ones; None when nothing of it is visible."""
        out = {}
        self.visible = {}  # per object: visible pixels / painted pixels inside the frame
        covered = np.zeros((self.rgb.size[1], self.rgb.size[0]), bool)
        for name in reversed(self.order):
            m = np.asarray(self.masks[name]) > 0
            out[name] = mask_box(m & ~covered)
            self.visible[name] = float((m & ~covered).sum()) / max(1, int(m.sum()))
            covered |= m
        return {name: out[name] for name in self.order}

    @staticmethod
    def _c(col):
        return tuple(int(max(0, min(255, round(v)))) for v in col)

    def polygon(self, pts, col, z, t):
        pts = [(float(x), float(y)) for x, y in pts]
        self.d_rgb.polygon(pts, fill=self._c(col))
        self.d_dep.polygon(pts, fill=float(z))
        self.d_tmp.polygon(pts, fill=float(t))
        if self._d_mask is not None:
            self._d_mask.polygon(pts, fill=255)

    def ellipse(self, box, col, z, t):
        x0, y0, x1, y1 = [float(v) for v in box]
        box = (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
        self.d_rgb.ellipse(box, fill=self._c(col))
        self.d_dep.ellipse(box, fill=float(z))
        self.d_tmp.ellipse(box, fill=float(t))
        if self._d_mask is not None:
            self._d_mask.ellipse(box, fill=255)

    def line(self, pts, width, col, z, t):
        pts = [(float(x), float(y)) for x, y in pts]
        w = max(1, int(round(width)))
        self.d_rgb.line(pts, fill=self._c(col), width=w, joint="curve")
        self.d_dep.line(pts, fill=float(z), width=w)
        self.d_tmp.line(pts, fill=float(t), width=w)
        if self._d_mask is not None:
            self._d_mask.line(pts, fill=255, width=w)
        if w > 3:  # round caps so limbs look like limbs
            for (x, y) in (pts[0], pts[-1]):
                r = w / 2
                self.ellipse((x - r, y - r, x + r, y + r), col, z, t)

    def arrays(self):
        return (np.asarray(self.rgb).copy(), np.asarray(self.dep, dtype=np.float32).copy(),
                np.asarray(self.tmp, dtype=np.float32).copy())


def mask_box(mask: np.ndarray) -> list[int] | None:
    """[x, y, width, height] in pixels of the set pixels of a boolean [H,W] mask; None when empty."""
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return None
    return [int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)]


class Place:
    """Object frame: u right, v up, 1 unit = `s` pixels, origin at (cx, by) on the image."""

    def __init__(self, cv: Canvas, cx, by, s, z, flip=1.0):
        self.cv, self.cx, self.by, self.s, self.z, self.flip = cv, cx, by, s, z, flip

    def p(self, u, v):
        return (self.cx + self.flip * u * self.s, self.by - v * self.s)

    def poly(self, pts, col, t, dz=0.0):
        self.cv.polygon([self.p(u, v) for u, v in pts], col, self.z + dz, t)

    def ell(self, u, v, ru, rv, col, t, dz=0.0):
        x0, y0 = self.p(u - ru, v + rv)
        x1, y1 = self.p(u + ru, v - rv)
        self.cv.ellipse((x0, y0, x1, y1), col, self.z + dz, t)

    def rect(self, u0, v0, u1, v1, col, t, dz=0.0):
        self.poly([(u0, v0), (u1, v0), (u1, v1), (u0, v1)], col, t, dz)

    def line(self, pts, w, col, t, dz=0.0):
        self.cv.line([self.p(u, v) for u, v in pts], w * self.s, col, self.z + dz, t)


def rand_col(rng, lo=0, hi=255):
    return rng.uniform(lo, hi, size=3)


def jitter(rng, col, amt=25):
    return np.clip(np.asarray(col, float) + rng.normal(0, amt, 3), 0, 255)


# ----------------------------------------------------------------------------------------------
# backgrounds

def background(rng, outdoor: bool, ctx):
    """Floor plane + wall (indoor) or sky (outdoor), pinhole camera at height hc, focal f."""
    f, hc, horizon = ctx["f"], ctx["hc"], ctx["horizon"]
    ys = np.arange(SIZE, dtype=np.float64) + 0.5
    with np.errstate(divide="ignore"):
        d_floor = np.where(ys > horizon, hc * f / np.maximum(ys - horizon, 1e-6), np.inf)
    if outdoor:
        far = FAR_M
        wall_col = np.array(ctx["sky"])
        wall_t = ctx["sky_t"]
    else:
        far = ctx["wall_m"]
        wall_col = np.array(ctx["wall"])
        wall_t = ctx["amb"] + rng.normal(0, 0.7)
    d_row = np.minimum(d_floor, far).astype(np.float32)
    is_floor = d_floor < far
    floor_col = np.array(ctx["floor"])
    # colour: sky/wall vertical gradient, floor gets darker with distance
    grad = np.linspace(0.85, 1.15, SIZE)[:, None]
    top = wall_col[None, :] * grad
    fl = floor_col[None, :] * (0.75 + 0.35 * np.clip(1.5 / np.maximum(d_floor, 0.1), 0, 1))[:, None]
    row_col = np.where(is_floor[:, None], fl, top)
    rgb = np.repeat(row_col[:, None, :], SIZE, axis=1)
    tex = ndimage.gaussian_filter(rng.normal(0, 1, (SIZE // 8, SIZE // 8)), 1.0)
    tex = np.kron(tex, np.ones((8, 8)))
    rgb = rgb + ctx["texture"] * tex[:, :, None]
    depth = np.repeat(d_row[:, None], SIZE, axis=1)
    floor_t = ctx["amb"] + ctx["floor_dt"]
    t_row = np.where(is_floor, floor_t, wall_t).astype(np.float32)
    temp = np.repeat(t_row[:, None], SIZE, axis=1) + rng.normal(0, 0.3) * tex.astype(np.float32)
    return np.clip(rgb, 0, 255).astype(np.uint8), depth, temp


def scene_context(rng, outdoor: bool):
    ctx = {}
    ctx["outdoor"] = outdoor
    ctx["f"] = float(rng.uniform(170, 260))
    ctx["hc"] = float(rng.uniform(1.2, 1.8))
    ctx["horizon"] = float(rng.uniform(50, 120))
    ctx["wall_m"] = float(rng.uniform(3.5, 9.0))
    ctx["night"] = bool(rng.random() < 0.25)
    if outdoor:
        ctx["amb"] = float(rng.uniform(-2, 32))
        ctx["sky"] = jitter(rng, [120, 170, 225], 25) if not ctx["night"] else jitter(rng, [25, 30, 60], 10)
        ctx["sky_t"] = float(rng.uniform(-20, -5))
        ctx["floor"] = jitter(rng, rng.choice([[90, 140, 70], [120, 120, 120], [150, 130, 100], [70, 70, 75]]), 20)
    else:
        ctx["amb"] = float(rng.uniform(17, 26))
        ctx["wall"] = jitter(rng, rng.choice([[220, 215, 200], [180, 190, 200], [200, 180, 160], [150, 160, 150]]), 20)
        ctx["floor"] = jitter(rng, rng.choice([[140, 100, 70], [170, 170, 165], [90, 80, 80], [190, 160, 120]]), 20)
    ctx["floor_dt"] = float(rng.normal(0, 1.5))
    ctx["texture"] = float(rng.uniform(2, 14))
    return ctx


def ground_place(cv, rng, ctx, real_h, px_lo, px_hi, cx=None, flip=None):
    """Put an object of real height `real_h` (m) on the floor, px_lo..px_hi pixels tall."""
    s = float(rng.uniform(px_lo, px_hi))
    z = ctx["f"] * real_h / s
    by = ctx["horizon"] + ctx["hc"] * ctx["f"] / z
    if cx is None:
        lo, hi = ctx.get("cx_range", (55, SIZE - 55))
        cx = float(rng.uniform(lo, hi))
    if flip is None:
        flip = 1.0 if rng.random() < 0.5 else -1.0
    return Place(cv, cx, by, s, z, flip)


def fix_horizon(ctx, real_h, px):
    """Lower the horizon so an object `px` tall at real height `real_h` stands inside the frame."""
    z = ctx["f"] * real_h / px
    need = SIZE - 8 - ctx["hc"] * ctx["f"] / z
    ctx["horizon"] = min(ctx["horizon"], need)


# ----------------------------------------------------------------------------------------------
# objects. Units: object height = 1 (v up), base at v = 0.

def skin(rng):
    return jitter(rng, [[224, 172, 140], [198, 134, 66], [141, 85, 36], [255, 205, 170]][rng.integers(4)], 12)


def draw_person(P: Place, rng, pose: str, amb: float, phase: float):
    shirt = rand_col(rng, 30, 230)
    pants = rand_col(rng, 20, 150)
    sk = skin(rng)
    t_skin = float(rng.uniform(31, 35))
    t_cloth = float(rng.uniform(26, 31))
    w = 0.075
    if pose == "walk":
        lean, leg, knee, arm = 0.02, 0.35 * math.sin(phase), 0.1, 0.3 * math.sin(phase)
    elif pose == "run":
        lean, leg, knee, arm = 0.30, 0.85 * math.sin(phase), 0.9, 0.9 * math.sin(phase)
    else:
        lean, leg, knee, arm = 0.0, 0.2, 0.2, 0.0
    if pose == "fall":
        # body pivoting towards the ground; arms thrown out
        ang = float(rng.uniform(1.0, 1.5))
        hip = (0.0, 0.12)
        dirv = (math.sin(ang), math.cos(ang))
        neck = (hip[0] + 0.42 * dirv[0], hip[1] + 0.42 * dirv[1])
        head = (hip[0] + 0.53 * dirv[0], hip[1] + 0.53 * dirv[1])
        P.line([hip, (hip[0] - 0.45 * math.cos(ang - 0.3) * 0.6, 0.02), (-0.45, 0.03)], w, pants, t_cloth)
        P.line([hip, (-0.3, 0.15), (-0.5, 0.2)], w, pants, t_cloth)
        P.line([hip, neck], w * 1.7, shirt, t_cloth)
        P.line([neck, (neck[0] + 0.05, neck[1] + 0.28), (neck[0] + 0.15, neck[1] + 0.45)], w * 0.8, sk, t_skin)
        P.line([neck, (neck[0] + 0.2, neck[1] - 0.1), (neck[0] + 0.3, 0.02)], w * 0.8, sk, t_skin)
        P.ell(head[0], head[1], 0.075, 0.075, sk, t_skin + 1)
        return
    hip = (0.0, 0.5)
    neck = (hip[0] + lean * 0.42, hip[1] + 0.36)
    head = (neck[0] + lean * 0.1, neck[1] + 0.1)
    for sgn, dz in ((1, 0.05), (-1, -0.05)):
        a = leg * sgn
        kneep = (hip[0] + 0.25 * math.sin(a), hip[1] - 0.25 * math.cos(a))
        b = a - knee * (0.5 + 0.5 * sgn * math.sin(phase))
        foot = (kneep[0] + 0.25 * math.sin(b), max(0.0, kneep[1] - 0.25 * math.cos(b)))
        P.line([hip, kneep, foot], w, pants * (0.85 if sgn > 0 else 1.0), t_cloth, dz)
    P.line([hip, neck], w * 1.8, shirt, t_cloth)
    for sgn in (1, -1):
        a = arm * sgn
        elb = (neck[0] + 0.16 * math.sin(a), neck[1] - 0.03 - 0.16 * math.cos(a))
        hand = (elb[0] + 0.15 * math.sin(a + (1.3 if pose == "run" else 0.2)),
                elb[1] - 0.15 * math.cos(a + (1.3 if pose == "run" else 0.2)))
        P.line([(neck[0], neck[1] - 0.03), elb, hand], w * 0.75, shirt, t_cloth)
        P.ell(hand[0], hand[1], 0.03, 0.03, sk, t_skin)
    P.ell(head[0], head[1], 0.065, 0.075, sk, t_skin + 1)


def obj_siren(cv, rng, ctx):
    fix_horizon(ctx, 2.4, 90)
    P = ground_place(cv, rng, ctx, 2.4, 55, 90)
    body = jitter(rng, [[240, 240, 240], [235, 235, 60], [30, 40, 120], [240, 240, 240]][rng.integers(4)], 10)
    stripe = [[220, 30, 30], [30, 60, 220], [240, 130, 20]][rng.integers(3)]
    amb = ctx["amb"]
    P.rect(-1.1, 0.2, 0.8, 1.0, body, amb + 4)  # box body
    P.poly([(0.8, 0.2), (1.35, 0.2), (1.35, 0.6), (1.1, 0.85), (0.8, 0.85)], body * 0.95, amb + 12)  # cab
    P.poly([(0.85, 0.6), (1.25, 0.6), (1.08, 0.78), (0.85, 0.78)], [60, 80, 100], amb + 2)  # windscreen
    P.rect(-1.1, 0.45, 1.35, 0.55, stripe, amb + 4)
    P.rect(-0.5, 0.6, -0.2, 0.85, [200, 30, 30], amb + 4)  # cross / emblem
    P.rect(-0.62, 0.68, -0.08, 0.77, [200, 30, 30], amb + 4)
    lights = [(255, 20, 20), (20, 60, 255)]
    if rng.random() < 0.5:
        lights = lights[::-1]
    P.rect(-0.9, 1.0, -0.35, 1.12, lights[0], amb + 25)
    P.rect(0.35, 1.0, 0.8, 1.12, lights[1], amb + 25)
    P.rect(-0.35, 1.0, 0.35, 1.08, [230, 230, 230], amb + 10)
    for lu, col in ((-0.62, lights[0]), (0.57, lights[1])):  # glow
        P.ell(lu, 1.1, 0.35, 0.12, np.minimum(255, np.asarray(col) * 0.5 + 127), amb + 20, 0.01)
        P.ell(lu, 1.06, 0.2, 0.07, col, amb + 30)
    for wu in (-0.7, 0.95):
        P.ell(wu, 0.17, 0.17, 0.17, [25, 25, 25], amb + 15)
        P.ell(wu, 0.17, 0.07, 0.07, [150, 150, 150], amb + 15)
    P.ell(1.3, 0.35, 0.05, 0.04, [255, 255, 200], amb + 30)


def obj_car(cv, rng, ctx):
    fix_horizon(ctx, 1.45, 75)
    P = ground_place(cv, rng, ctx, 1.45, 40, 75)
    body = rand_col(rng, 20, 235)
    amb = ctx["amb"]
    P.poly([(-1.6, 0.2), (1.6, 0.2), (1.65, 0.45), (1.3, 0.6), (-1.5, 0.62), (-1.65, 0.42)], body, amb + 6)
    P.poly([(-0.9, 0.6), (0.7, 0.6), (0.35, 1.0), (-0.6, 1.0)], body * 0.9, amb + 4)
    P.poly([(-0.8, 0.63), (-0.2, 0.63), (-0.2, 0.93), (-0.55, 0.93)], [70, 90, 110], amb + 1)
    P.poly([(-0.12, 0.63), (0.58, 0.63), (0.3, 0.93), (-0.12, 0.93)], [70, 90, 110], amb + 1)
    for wu in (-1.05, 1.05):
        P.ell(wu, 0.22, 0.24, 0.24, [20, 20, 20], amb + 12)
        P.ell(wu, 0.22, 0.1, 0.1, [170, 170, 170], amb + 12)
    P.ell(1.55, 0.47, 0.07, 0.05, [255, 250, 200], amb + 30)
    P.rect(-1.65, 0.35, -1.55, 0.45, [200, 20, 20], amb + 10)
    P.line([(1.0, 0.28), (1.5, 0.3)], 0.06, [40, 40, 40], amb + 35)  # hot front / engine bay region
    P.rect(0.9, 0.25, 1.55, 0.55, body * 0.97, amb + 28, -0.02)


def obj_engine(cv, rng, ctx):
    fix_horizon(ctx, 0.9, 140)
    P = ground_place(cv, rng, ctx, 0.9, 90, 140, cx=float(rng.uniform(80, 144)))
    metal = jitter(rng, [[90, 90, 95], [60, 60, 62], [150, 40, 35], [120, 120, 125]][rng.integers(4)], 12)
    hot = float(rng.uniform(70, 105))
    amb = ctx["amb"]
    P.rect(-0.8, 0.1, -0.65, 0.0, [50, 50, 50], amb + 5)
    P.rect(0.65, 0.1, 0.8, 0.0, [50, 50, 50], amb + 5)
    P.rect(-0.75, 0.1, 0.75, 0.65, metal, hot)  # block
    ncyl = int(rng.integers(3, 7))
    for i in range(ncyl):
        u = -0.65 + 1.3 * (i + 0.5) / ncyl
        P.rect(u - 0.55 / ncyl, 0.65, u + 0.55 / ncyl, 0.9, metal * 1.15, hot + 10)
        P.ell(u, 0.78, 0.25 / ncyl, 0.05, [40, 40, 40], hot + 5)
    P.rect(-0.7, 0.9, 0.7, 1.0, metal * 0.7, hot - 10)  # valve cover
    P.ell(-0.85, 0.45, 0.18, 0.18, [30, 30, 30], hot - 5)  # pulley
    P.ell(-0.85, 0.45, 0.06, 0.06, [160, 160, 160], hot - 5)
    P.line([(-0.85, 0.63), (-0.4, 0.2)], 0.035, [20, 20, 20], hot - 15)
    P.line([(0.75, 0.5), (0.95, 0.45), (1.0, 0.1)], 0.07, [110, 70, 50], hot + 40)  # exhaust
    for i in range(6):
        P.ell(-0.6 + 0.24 * i, 0.3, 0.025, 0.025, [200, 200, 200], hot)


def obj_dog(cv, rng, ctx):
    fix_horizon(ctx, 0.65, 110)
    P = ground_place(cv, rng, ctx, 0.65, 55, 110)
    fur = jitter(rng, [[140, 90, 45], [30, 25, 20], [230, 220, 200], [200, 150, 70], [110, 110, 110]][rng.integers(5)], 15)
    t = float(rng.uniform(30, 37))
    tail_a = float(rng.uniform(-0.3, 0.6))
    P.line([(-0.75, 0.68), (-0.95, 0.75 + tail_a * 0.3)], 0.07, fur, t - 4)
    for lu, dz in ((-0.55, 0.05), (-0.4, -0.05), (0.35, 0.05), (0.5, -0.05)):
        P.line([(lu, 0.55), (lu + rng.normal(0, 0.04), 0.0)], 0.1, fur * 0.9, t - 2, dz)
    P.ell(-0.1, 0.6, 0.72, 0.22, fur, t)  # body
    P.line([(0.45, 0.65), (0.65, 0.9)], 0.16, fur, t)  # neck
    P.ell(0.72, 0.95, 0.17, 0.15, fur, t + 1)  # head
    P.poly([(0.8, 1.0), (1.08, 0.94), (1.08, 0.86), (0.82, 0.84)], fur * 1.05, t + 1)  # snout
    P.ell(1.07, 0.93, 0.035, 0.03, [10, 10, 10], t + 2)
    if rng.random() < 0.7:  # barking mouth
        P.poly([(0.86, 0.86), (1.05, 0.84), (1.0, 0.78)], [150, 30, 40], t + 3)
    P.poly([(0.62, 1.05), (0.7, 1.12), (0.58, 0.82)], fur * 0.7, t - 1)  # ear
    P.ell(0.78, 1.0, 0.025, 0.025, [10, 10, 10], t + 2)


def obj_bird(cv, rng, ctx):
    amb = ctx["amb"]
    col = rand_col(rng, 20, 240)
    belly = jitter(rng, col * 0.5 + 110, 20)
    t = float(rng.uniform(36, 40))
    perched = rng.random() < 0.5
    z = float(rng.uniform(2.0, 7.0))
    s = ctx["f"] * 0.22 / z * float(rng.uniform(0.9, 1.4))
    s = float(np.clip(s, 22, 70))
    cx = float(rng.uniform(50, SIZE - 50))
    by = float(rng.uniform(60, 150))
    flip = 1.0 if rng.random() < 0.5 else -1.0
    if perched:  # branch across the frame at the bird's distance
        bird = cv.order[-1] if cv.order and cv._d_mask is not None else None
        cv.mark(None)  # the branch is scenery, not the bird
        y = by + 0.05 * s
        cv.line([(0, y + rng.normal(0, 8)), (SIZE, y + rng.normal(0, 8))], max(3, s * 0.12), [90, 60, 30], z + 0.1, amb)
        for _ in range(5):
            lx = float(rng.uniform(0, SIZE))
            cv.ellipse((lx - 9, y - 14, lx + 9, y), jitter(rng, [60, 130, 50]), z + 0.1, amb)
        if bird is not None:
            cv.mark(bird)
    P = Place(cv, cx, by, s, z, flip)
    P.poly([(-0.3, 0.45), (-0.75, 0.55), (-0.75, 0.35)], col * 0.8, t - 4)  # tail
    P.ell(0.0, 0.45, 0.35, 0.22, col, t)
    P.ell(0.05, 0.38, 0.22, 0.12, belly, t)
    P.ell(0.33, 0.68, 0.15, 0.15, col, t + 1)
    P.poly([(0.45, 0.72), (0.65, 0.66), (0.45, 0.62)], [240, 180, 30], t - 3)
    P.ell(0.37, 0.72, 0.03, 0.03, [0, 0, 0], t + 1)
    if perched:
        P.poly([(-0.2, 0.5), (0.15, 0.55), (0.05, 0.35)], col * 0.7, t - 2)
        P.line([(0.0, 0.25), (0.0, 0.0)], 0.04, [200, 150, 40], t - 5)
    else:
        up = 1.0 if rng.random() < 0.5 else -1.0
        P.poly([(-0.15, 0.5), (0.15, 0.5), (-0.1, 0.5 + 0.6 * up), (-0.35, 0.5 + 0.5 * up)], col * 0.75, t - 3)


def obj_fire(cv, rng, ctx):
    fix_horizon(ctx, 0.9, 130)
    P = ground_place(cv, rng, ctx, 0.9, 80, 140)
    amb = ctx["amb"]
    for i in range(int(rng.integers(2, 5))):  # logs
        a = float(rng.uniform(-0.4, 0.4))
        P.line([(-0.55 * math.cos(a), 0.05 + 0.1 * math.sin(a) + 0.05 * i),
                (0.55 * math.cos(a), 0.05 - 0.1 * math.sin(a) + 0.05 * i)], 0.09, jitter(rng, [90, 55, 25], 10), 150)
    if rng.random() < 0.6:  # smoke
        for i in range(4):
            P.ell(rng.normal(0, 0.2), 1.2 + 0.25 * i, 0.3 + 0.1 * i, 0.15, jitter(rng, [130, 130, 130], 15), amb + 15, 0.3)
    layers = [([200, 30, 10], 1.0, 300.0), ([250, 110, 10], 0.75, 450.0), ([255, 210, 40], 0.5, 600.0), ([255, 250, 200], 0.25, 750.0)]
    nfl = int(rng.integers(3, 6))
    offs = rng.normal(0, 0.12, nfl)
    hts = rng.uniform(0.6, 1.1, nfl)
    for col, k, t in layers:
        for j in range(nfl):
            u = (j - (nfl - 1) / 2) * 0.2 + offs[j]
            h = hts[j] * k
            w = 0.22 * (0.5 + 0.5 * k)
            P.poly([(u - w, 0.1), (u - w * 0.6, 0.1 + h * 0.45), (u + rng.normal(0, 0.05), 0.1 + h),
                    (u + w * 0.6, 0.1 + h * 0.45), (u + w, 0.1)], jitter(rng, col, 8), t * float(rng.uniform(0.8, 1.1)))


def obj_fan(cv, rng, ctx):
    fix_horizon(ctx, 1.2, 170)
    P = ground_place(cv, rng, ctx, 1.2, 120, 175)
    col = jitter(rng, [[235, 235, 235], [40, 40, 45], [70, 120, 190], [190, 190, 190]][rng.integers(4)], 10)
    amb = ctx["amb"]
    P.ell(0, 0.02, 0.28, 0.05, col * 0.9, amb + 1)
    P.line([(0, 0.02), (0, 0.6)], 0.05, col * 0.9, amb + 1)
    cu, cvv, r = 0.0, 0.78, 0.32
    P.ell(cu, cvv, r, r, [min(255, c + 10) for c in ctx.get("wall", [200, 200, 200])], amb, 0.05)
    nb = int(rng.integers(3, 6))
    a0 = float(rng.uniform(0, 2 * math.pi))
    for i in range(nb):
        a = a0 + 2 * math.pi * i / nb
        pts = []
        for k, (rr, da) in enumerate(((0.05, -0.25), (0.27, -0.35), (0.3, 0.0), (0.27, 0.3), (0.05, 0.25))):
            pts.append((cu + rr * math.cos(a + da), cvv + rr * math.sin(a + da)))
        P.poly(pts, jitter(rng, col * 0.85, 5), amb + 2)
    P.ell(cu, cvv, 0.07, 0.07, col * 0.7, amb + float(rng.uniform(12, 25)))  # warm motor hub
    for k in range(8):  # guard
        a = math.pi * k / 8
        P.line([(cu + r * math.cos(a), cvv + r * math.sin(a)), (cu - r * math.cos(a), cvv - r * math.sin(a))], 0.008, col * 0.6, amb, -0.05)
    P.ell(cu, cvv - 0.0, 0.05, 0.05, col * 0.6, amb + 4, -0.06)


def obj_rain(cv, rng, ctx):
    amb = ctx["amb"]
    n = int(rng.integers(120, 260))
    ang = float(rng.uniform(-0.35, 0.35))
    ln = float(rng.uniform(8, 22))
    for _ in range(n):
        x, y = float(rng.uniform(-20, SIZE + 20)), float(rng.uniform(-20, SIZE))
        z = float(rng.uniform(0.8, 12.0))
        c = jitter(rng, [200, 210, 230], 15)
        cv.line([(x, y), (x + ln * math.sin(ang), y + ln * math.cos(ang))], 1 if z > 3 else 2, c, z, amb - float(rng.uniform(2, 6)))
    for _ in range(int(rng.integers(3, 8))):  # puddles on the ground
        y = float(rng.uniform(ctx["horizon"] + 15, SIZE))
        x = float(rng.uniform(0, SIZE))
        d = ctx["hc"] * ctx["f"] / max(y - ctx["horizon"], 1)
        w = float(rng.uniform(15, 40)) * min(2.0, 3.0 / d)
        cv.ellipse((x - w, y - w * 0.2, x + w, y + w * 0.2), jitter(rng, [110, 120, 140], 10), d, amb - 3)


def obj_glass(cv, rng, ctx):
    amb = ctx["amb"]
    wall = ctx["wall_m"]
    w = float(rng.uniform(70, 120))
    h = float(rng.uniform(70, 120))
    cx, cy = float(rng.uniform(70, 154)), float(rng.uniform(60, 120))
    frame = jitter(rng, [[240, 240, 240], [110, 70, 40], [60, 60, 60]][rng.integers(3)], 10)
    out_t = amb + float(rng.uniform(-15, 8))
    cv.polygon([(cx - w / 2 - 6, cy - h / 2 - 6), (cx + w / 2 + 6, cy - h / 2 - 6), (cx + w / 2 + 6, cy + h / 2 + 6), (cx - w / 2 - 6, cy + h / 2 + 6)], frame, wall - 0.05, amb)
    glass = jitter(rng, [150, 190, 215], 15)
    cv.polygon([(cx - w / 2, cy - h / 2), (cx + w / 2, cy - h / 2), (cx + w / 2, cy + h / 2), (cx - w / 2, cy + h / 2)], glass, wall - 0.03, out_t)
    ix, iy = cx + rng.normal(0, w / 6), cy + rng.normal(0, h / 6)
    nc = int(rng.integers(7, 14))
    for k in range(nc):  # radial cracks
        a = 2 * math.pi * k / nc + rng.normal(0, 0.2)
        pts = [(ix, iy)]
        r = 0
        while r < max(w, h):
            r += float(rng.uniform(8, 20))
            pts.append((ix + r * math.cos(a + rng.normal(0, 0.15)), iy + r * math.sin(a + rng.normal(0, 0.15))))
        pts = [(min(max(x, cx - w / 2), cx + w / 2), min(max(y, cy - h / 2), cy + h / 2)) for x, y in pts]
        cv.line(pts, 2, [250, 250, 250], wall - 0.03, out_t)
    cv.ellipse((ix - 8, iy - 8, ix + 8, iy + 8), [30, 30, 40], wall + 3.0, out_t)  # hole to outside
    for _ in range(int(rng.integers(8, 20))):  # falling shards, nearer than the wall
        x = ix + rng.normal(0, 30)
        y = iy + abs(rng.normal(20, 40))
        z = float(rng.uniform(0.8, wall - 0.3))
        sz = float(rng.uniform(3, 9))
        a = float(rng.uniform(0, 2 * math.pi))
        pts = [(x + sz * math.cos(a + k * 2.1 + rng.normal(0, 0.3)), y + sz * math.sin(a + k * 2.1)) for k in range(3)]
        cv.polygon(pts, jitter(rng, [210, 230, 245], 12), z, amb)


def obj_knocking(cv, rng, ctx):
    amb = ctx["amb"]
    wall = ctx["wall_m"] = min(ctx["wall_m"], float(rng.uniform(1.5, 3.0)))
    f = ctx["f"]
    dh = 2.0 * f / wall
    dw = 0.9 * f / wall
    cx = float(rng.uniform(70, 154))
    bottom = ctx["horizon"] + ctx["hc"] * f / wall
    top = bottom - dh
    wood = jitter(rng, [[120, 70, 35], [160, 110, 60], [200, 200, 195], [90, 30, 30], [40, 70, 50]][rng.integers(5)], 10)
    cv.polygon([(cx - dw / 2 - 5, top - 5), (cx + dw / 2 + 5, top - 5), (cx + dw / 2 + 5, bottom), (cx - dw / 2 - 5, bottom)], wood * 0.6, wall - 0.02, amb)
    cv.polygon([(cx - dw / 2, top), (cx + dw / 2, top), (cx + dw / 2, bottom), (cx - dw / 2, bottom)], wood, wall - 0.05, amb + 0.5)
    for py in (0.1, 0.55):
        y0 = top + dh * py
        cv.polygon([(cx - dw / 2 + 8, y0), (cx + dw / 2 - 8, y0), (cx + dw / 2 - 8, y0 + dh * 0.35), (cx - dw / 2 + 8, y0 + dh * 0.35)], wood * 0.85, wall - 0.06, amb + 0.5)
    side = 1 if rng.random() < 0.5 else -1
    kx = cx + side * dw * 0.38
    ky = top + dh * 0.52
    cv.ellipse((kx - 5, ky - 5, kx + 5, ky + 5), [200, 170, 60], wall - 0.1, amb)
    # the knocking arm comes in from the bottom corner, fist on the door
    sk = skin(rng)
    sleeve = rand_col(rng, 30, 220)
    fx = cx + float(rng.normal(0, dw * 0.15))
    fy = top + dh * float(rng.uniform(0.25, 0.45))
    sx = SIZE + 10 if rng.random() < 0.5 else -10
    cv.line([(sx, SIZE + 10), (fx + (sx - fx) * 0.3, fy + 60)], 34, sleeve, 0.5, 31.0)
    cv.line([(fx + (sx - fx) * 0.3, fy + 60), (fx, fy + 8)], 26, sk, 0.6, 33.0)
    cv.ellipse((fx - 20, fy - 16, fx + 20, fy + 20), sk, 0.65, 34.0)
    for k in range(4):
        cv.line([(fx - 14 + 9 * k, fy - 10), (fx - 14 + 9 * k, fy + 2)], 2, np.asarray(sk) * 0.7, 0.64, 34.0)


def obj_speech(cv, rng, ctx):
    amb = ctx["amb"]
    sk = skin(rng)
    t_skin = float(rng.uniform(33, 36))
    shirt = rand_col(rng, 20, 235)
    hair = jitter(rng, [[20, 15, 10], [90, 60, 30], [200, 170, 90], [120, 120, 120]][rng.integers(4)], 10)
    z = float(rng.uniform(0.8, 2.0))
    s = ctx["f"] * 0.24 / z
    s = float(np.clip(s, 35, 70))
    cx = float(rng.uniform(70, 154))
    cy = float(rng.uniform(75, 110))
    P = Place(cv, cx, cy, s, z, 1.0)
    P.poly([(-1.6, -3.5), (1.6, -3.5), (1.4, -1.6), (0.6, -1.15), (-0.6, -1.15), (-1.4, -1.6)], shirt, float(rng.uniform(27, 31)), 0.1)
    P.rect(-0.3, -1.3, 0.3, -0.6, sk, t_skin - 1, 0.05)
    P.ell(0, 0.05, 0.82, 0.98, hair, float(rng.uniform(28, 32)), 0.05)
    P.ell(0, -0.05, 0.72, 0.92, sk, t_skin)
    for eu in (-0.28, 0.28):
        P.ell(eu, 0.15, 0.1, 0.06, [250, 250, 250], t_skin)
        P.ell(eu, 0.15, 0.045, 0.05, [40, 30, 20], t_skin)
        P.line([(eu - 0.13, 0.32), (eu + 0.13, 0.34)], 0.05, hair, t_skin)
    P.line([(0, 0.1), (0.05, -0.25), (-0.05, -0.28)], 0.04, np.asarray(sk) * 0.8, t_skin)
    mo = float(rng.uniform(0.12, 0.25))  # open, talking mouth
    P.ell(0, -0.5, 0.25, mo, [120, 30, 40], t_skin + 1.5, -0.01)
    P.ell(0, -0.5 + mo * 0.6, 0.18, 0.04, [240, 240, 240], t_skin, -0.02)
    if rng.random() < 0.6:  # gesturing hand
        hu = float(rng.choice([-1.3, 1.3]))
        P.line([(hu * 1.1, -3.2), (hu, -1.7)], 0.3, shirt, 30.0, -0.4)
        P.ell(hu, -1.45, 0.24, 0.3, sk, t_skin - 1, -0.4)


def obj_person(pose):
    def draw(cv, rng, ctx):
        if pose == "fall":
            fix_horizon(ctx, 0.9, 110)
            P = ground_place(cv, rng, ctx, 0.9, 70, 110, cx=float(rng.uniform(80, 144)))
            # the figure is defined in units of body height; scale back up to a full body
            P.s = P.s * 1.8
        else:
            fix_horizon(ctx, 1.75, 175)
            P = ground_place(cv, rng, ctx, 1.75, 110, 180)
        draw_person(P, rng, pose, ctx["amb"], float(rng.uniform(0.9, 1.6)) * (1 if rng.random() < 0.5 else -1))
    return draw


# concept -> (painter, outdoor probability)
PAINTERS = {
    "siren": (obj_siren, 0.9), "dog": (obj_dog, 0.6), "engine": (obj_engine, 0.4), "rain": (obj_rain, 1.0),
    "speech": (obj_speech, 0.2), "bird": (obj_bird, 1.0), "glass_breaking": (obj_glass, 0.0),
    "knocking": (obj_knocking, 0.0), "fire": (obj_fire, 0.8), "fan": (obj_fan, 0.0),
    "walking": (obj_person("walk"), 0.7), "running": (obj_person("run"), 0.8),
    "falling": (obj_person("fall"), 0.5), "car": (obj_car, 1.0),
}


def render_visual(rng, concept: str | None, paint: bool = True):
    """concept None renders an empty scene (background only). Returns image uint8 [H,W,3], depth m float32 [H,W], thermal C float32 [H,W], attrs dict.
    paint=False gives the same scene without the object (its "plate": same geometry, lighting and noise draws)."""
    painter, p_out = PAINTERS[concept] if concept is not None else (lambda cv, rng, ctx: None, 0.5)
    outdoor = bool(rng.random() < p_out)
    ctx = scene_context(rng, outdoor)
    if concept == "rain":
        ctx["sky"] = jitter(rng, [110, 115, 125], 15)
        ctx["amb"] = float(rng.uniform(2, 18))
    if concept == "bird":
        ctx["horizon"] = float(rng.uniform(150, 215))
    # painters may adjust the horizon first, so draw into a scratch canvas to fix the geometry
    pre = np.random.Generator(np.random.PCG64(int(rng.integers(2**62))))
    scratch = Canvas(np.zeros((SIZE, SIZE, 3), np.uint8), np.zeros((SIZE, SIZE)), np.zeros((SIZE, SIZE)))
    st = pre.bit_generator.state
    painter(scratch, pre, ctx)
    rgb, dep, tmp = background(rng, outdoor, ctx)
    cv = Canvas(rgb, dep, tmp)
    pre.bit_generator.state = st
    if concept is not None:
        cv.mark(concept)
    if paint:
        painter(cv, pre, ctx)
    boxes = cv.boxes()
    rgb, dep, tmp = cv.arrays()
    # lighting, sensor noise
    light = float(rng.uniform(0.55, 1.25)) * (0.45 if ctx["night"] else 1.0)
    tint = rng.uniform(0.85, 1.15, 3)
    img = rgb.astype(np.float32) * light * tint[None, None, :]
    if concept == "siren" and ctx["night"]:
        img = img * 1.0
    img += rng.normal(0, float(rng.uniform(1, 8)), img.shape)
    img = np.clip(img, 0, 255).astype(np.uint8)
    dep = dep.astype(np.float32)
    dep = dep * (1 + rng.normal(0, 0.01, dep.shape).astype(np.float32) * np.minimum(dep, 10) / 10)
    dep = np.clip(dep, 0.05, FAR_M).astype(np.float32)
    tmp = ndimage.gaussian_filter(tmp, float(rng.uniform(0.6, 1.6))).astype(np.float32)
    tmp = tmp + rng.normal(0, 0.25, tmp.shape).astype(np.float32)
    # box: where the concept is painted, [x, y, width, height] in pixels (None for an empty scene)
    attrs = {"night": ctx["night"], "outdoor": outdoor, "box": boxes.get(concept) if concept is not None else None}
    return img, dep, tmp, attrs


def render_composite_image(seed: int, concepts: list[int]) -> np.ndarray:
    """One image showing several concepts (for the embedding-arithmetic test): the first concept's
    scene, then each further concept painted into it on alternating sides. Image only."""
    return render_composite(seed, concepts)[0]


def render_composite(seed: int, concepts: list[int], paint: bool = True, visible: dict | None = None) -> tuple[np.ndarray, dict[str, list[int] | None]]:
    """render_composite_image's image and each concept's box (key -> [x, y, width, height] around its
    visible pixels, or None when a later concept hides it completely). paint=False: the scene without them.
    `visible`, when given, receives each concept's visible fraction of its painted pixels."""
    rng = rng_for(seed)
    keys = [CONCEPT_KEYS[c] for c in concepts]
    outdoor = bool(rng.random() < PAINTERS[keys[0]][1])
    ctx = scene_context(rng, outdoor)
    if "rain" in keys:
        ctx["sky"] = jitter(rng, [110, 115, 125], 15)
    seeds = [int(rng.integers(2**62)) for _ in keys]
    ranges = [(40, 100), (124, 184)]
    for k, (key, sd) in enumerate(zip(keys, seeds)):  # geometry pass
        ctx["cx_range"] = ranges[k % 2]
        scratch = Canvas(np.zeros((SIZE, SIZE, 3), np.uint8), np.zeros((SIZE, SIZE)), np.zeros((SIZE, SIZE)))
        PAINTERS[key][0](scratch, np.random.Generator(np.random.PCG64(sd)), ctx)
    rgb, dep, tmp = background(rng, outdoor, ctx)
    cv = Canvas(rgb, dep, tmp)
    for k, (key, sd) in enumerate(zip(keys, seeds)):
        ctx["cx_range"] = ranges[k % 2]
        cv.mark(key)
        if paint:
            PAINTERS[key][0](cv, np.random.Generator(np.random.PCG64(sd)), ctx)
    boxes = cv.boxes()
    if visible is not None:
        visible.update(cv.visible)
    img = cv.arrays()[0].astype(np.float32) * float(rng.uniform(0.6, 1.2))
    img += rng.normal(0, float(rng.uniform(1, 6)), img.shape)
    return np.clip(img, 0, 255).astype(np.uint8), boxes


# ----------------------------------------------------------------------------------------------
# audio

T_AUDIO = np.arange(AUDIO_SAMPLES) / SR


def _bp(x, lo, hi, order=2):
    lo = max(lo, 10.0)
    hi = min(hi, SR / 2 - 50)
    sos = signal.butter(order, [lo, hi], btype="band", fs=SR, output="sos")
    return signal.sosfilt(sos, x)


def _lp(x, fc, order=2):
    sos = signal.butter(order, min(fc, SR / 2 - 50), btype="low", fs=SR, output="sos")
    return signal.sosfilt(sos, x)


def _hp(x, fc, order=2):
    sos = signal.butter(order, fc, btype="high", fs=SR, output="sos")
    return signal.sosfilt(sos, x)


def _env(n, attack, decay):
    t = np.arange(n) / SR
    return np.minimum(t / max(attack, 1e-4), 1.0) * np.exp(-t / max(decay, 1e-4))


def _add(out, start, x):
    s = int(start)
    if s >= len(out):
        return
    if s < 0:
        x = x[-s:]
        s = 0
    e = min(len(out), s + len(x))
    out[s:e] += x[: e - s]


def _tone(f_t, harm_amps):
    ph = 2 * np.pi * np.cumsum(f_t) / SR
    return sum(a * np.sin((k + 1) * ph) for k, a in enumerate(harm_amps))


def _pink(rng, n):
    x = rng.normal(0, 1, n)
    X = np.fft.rfft(x)
    fr = np.fft.rfftfreq(n, 1 / SR)
    X[1:] /= np.sqrt(fr[1:])
    X[0] = 0
    y = np.fft.irfft(X, n)
    return y / (np.std(y) + 1e-9)


def snd_siren(rng, speed):
    t = T_AUDIO
    fc, dev = rng.uniform(650, 1000), rng.uniform(200, 450)
    if rng.random() < 0.5:  # wail
        f = fc + dev * np.sin(2 * np.pi * rng.uniform(0.25, 0.8) * speed * t + rng.uniform(0, 6.3))
    else:  # yelp / hi-lo
        f = fc + dev * np.sign(np.sin(2 * np.pi * rng.uniform(1.2, 3.5) * speed * t + rng.uniform(0, 6.3)))
        f = _lp(f, 40, 1)
    return _tone(f, [1.0, 0.5, 0.3, 0.15])


def snd_dog(rng, speed):
    out = np.zeros(AUDIO_SAMPLES)
    t0 = rng.uniform(0, 0.3)
    while t0 < 1.85:
        d = rng.uniform(0.09, 0.22) / speed
        n = int(d * SR)
        f0 = rng.uniform(300, 750)
        f = f0 * np.linspace(1.15, 0.8, n)
        x = _tone(f, [1, 0.8, 0.6, 0.5, 0.3, 0.2]) + 0.5 * _bp(rng.normal(0, 1, n), 500, 3000)
        _add(out, t0 * SR, x * _env(n, 0.01, d / 2.5) * rng.uniform(0.6, 1.0))
        t0 += d + rng.uniform(0.12, 0.5) / speed
    return out


def snd_engine(rng, speed):
    t = T_AUDIO
    f0 = rng.uniform(25, 75) * speed * (1 + 0.03 * np.sin(2 * np.pi * rng.uniform(0.2, 1) * t))
    amps = [rng.uniform(0.3, 1) / (k + 1) ** 0.7 for k in range(16)]
    x = _tone(f0, amps)
    x *= 1 + 0.4 * np.sin(2 * np.pi * np.cumsum(f0) / SR * 0.5)
    return x + 0.6 * _lp(rng.normal(0, 1, AUDIO_SAMPLES), 400) * np.std(x)


def snd_rain(rng, speed):
    x = _hp(_pink(rng, AUDIO_SAMPLES), rng.uniform(300, 900)) * rng.uniform(0.5, 1.0)
    nd = int(rng.uniform(150, 500) * 2 * speed)
    for _ in range(nd):
        n = int(rng.uniform(0.002, 0.008) * SR)
        fr = rng.uniform(1500, 7000)
        d = np.sin(2 * np.pi * fr * np.arange(n) / SR) * _env(n, 0.0003, n / SR / 4)
        _add(x, rng.uniform(0, AUDIO_SAMPLES), d * rng.uniform(0.5, 3))
    return x


VOWELS = [(730, 1090, 2440), (270, 2290, 3010), (300, 870, 2240), (530, 1840, 2480), (570, 840, 2410),
          (660, 1720, 2410), (440, 1020, 2240), (490, 1350, 1690)]


def snd_speech(rng, speed):
    out = np.zeros(AUDIO_SAMPLES)
    f0b = rng.uniform(90, 240)
    t = rng.uniform(0, 0.2)
    while t < 1.9:
        dur = rng.uniform(0.12, 0.3) / speed
        n = int(dur * SR)
        f0 = f0b * (1 + 0.15 * rng.normal()) * np.linspace(1.05, 0.92, n)
        fm = VOWELS[rng.integers(len(VOWELS))]
        fm = [x * rng.uniform(0.92, 1.08) for x in fm]
        amps = []
        for k in range(1, 40):
            fk = k * f0.mean()
            if fk > 5000:
                break
            amps.append(sum(np.exp(-0.5 * ((fk - F) / 90) ** 2) * w for F, w in zip(fm, (1.0, 0.6, 0.3))) + 0.02)
        x = _tone(f0, amps)
        if rng.random() < 0.4:  # consonant burst
            c = int(0.04 * SR)
            x[:c] += _bp(rng.normal(0, 1, c), 2500, 7000) * 0.5 * np.std(x)
        _add(out, t * SR, x * np.hanning(n))
        t += dur + (rng.uniform(0.15, 0.4) if rng.random() < 0.2 else rng.uniform(0.0, 0.05))
    return out


def snd_bird(rng, speed):
    out = np.zeros(AUDIO_SAMPLES)
    t = rng.uniform(0, 0.3)
    base = rng.uniform(2500, 5500)
    while t < 1.9:
        nchirp = int(rng.integers(1, 6))
        for _ in range(nchirp):
            d = rng.uniform(0.03, 0.12) / speed
            n = int(d * SR)
            f = base * np.linspace(rng.uniform(0.7, 1.3), rng.uniform(0.7, 1.3), n) * (1 + 0.05 * np.sin(2 * np.pi * 60 * np.arange(n) / SR))
            _add(out, t * SR, _tone(f, [1, 0.2]) * np.hanning(n) * rng.uniform(0.5, 1))
            t += d + rng.uniform(0.01, 0.06)
        t += rng.uniform(0.1, 0.5) / speed
    return out


def snd_glass(rng, speed):
    out = np.zeros(AUDIO_SAMPLES)
    t0 = rng.uniform(0.05, 0.6)
    n = int(0.05 * SR)
    _add(out, t0 * SR, _hp(rng.normal(0, 1, n), 1000) * _env(n, 0.0005, 0.015) * 3)
    for _ in range(int(rng.uniform(25, 70))):
        tt = t0 + rng.exponential(0.35) / speed
        fr = rng.uniform(2500, 7500)
        d = rng.uniform(0.02, 0.12)
        m = int(d * SR)
        x = np.sin(2 * np.pi * fr * np.arange(m) / SR) + 0.5 * np.sin(2 * np.pi * fr * 1.7 * np.arange(m) / SR)
        _add(out, tt * SR, x * _env(m, 0.0005, d / 4) * rng.uniform(0.2, 1.2))
    return out


def snd_knock(rng, speed):
    out = np.zeros(AUDIO_SAMPLES)
    t = rng.uniform(0, 0.3)
    fr = rng.uniform(120, 300)
    while t < 1.8:
        for _ in range(int(rng.integers(2, 5))):
            m = int(0.08 * SR)
            tt = np.arange(m) / SR
            x = (np.sin(2 * np.pi * fr * tt) + 0.5 * np.sin(2 * np.pi * fr * 2.7 * tt)) * _env(m, 0.001, 0.02)
            x += _bp(rng.normal(0, 1, m), 800, 3000) * _env(m, 0.0005, 0.004)
            _add(out, t * SR, x * rng.uniform(0.7, 1.0))
            t += rng.uniform(0.14, 0.26) / speed
        t += rng.uniform(0.4, 0.9)
    return out


def snd_fire(rng, speed):
    x = 0.4 * _lp(rng.normal(0, 1, AUDIO_SAMPLES), rng.uniform(150, 400))
    x = x / (np.std(x) + 1e-9) * rng.uniform(0.1, 0.4)
    for _ in range(int(rng.uniform(20, 60) * 2 * speed)):
        m = int(rng.uniform(0.001, 0.006) * SR)
        c = _hp(rng.normal(0, 1, m), 800) * _env(m, 0.0002, m / SR / 3)
        _add(x, rng.uniform(0, AUDIO_SAMPLES), c * rng.exponential(1.5))
    return x


def snd_fan(rng, speed):
    t = T_AUDIO
    x = _lp(rng.normal(0, 1, AUDIO_SAMPLES), rng.uniform(600, 2000))
    x /= np.std(x) + 1e-9
    bp = rng.uniform(40, 120) * speed
    x += _tone(np.full(AUDIO_SAMPLES, bp), [0.6, 0.3, 0.15])
    x += 0.3 * np.sin(2 * np.pi * rng.choice([100, 120]) * t)
    return x * (1 + 0.15 * np.sin(2 * np.pi * bp / rng.integers(3, 6) * t))


def _steps(rng, rate, loud, sharp):
    out = np.zeros(AUDIO_SAMPLES)
    t = rng.uniform(0, 1 / rate)
    k = 0
    while t < 2.0:
        m = int(0.12 * SR)
        tt = np.arange(m) / SR
        fr = rng.uniform(60, 140)
        x = np.sin(2 * np.pi * fr * tt) * _env(m, 0.002, 0.03 / sharp)
        x += 0.6 * _bp(rng.normal(0, 1, m), 400, 4000) * _env(m, 0.001, 0.015 / sharp)
        _add(out, t * SR, x * loud * (1.0 if k % 2 == 0 else 0.75))
        t += 1 / rate * rng.uniform(0.95, 1.05)
        k += 1
    return out


def snd_walk(rng, speed):
    return _steps(rng, rng.uniform(1.6, 2.1) * speed, 1.0, 1.0)


def snd_run(rng, speed):
    rate = rng.uniform(2.6, 3.3) * speed
    x = _steps(rng, rate, 1.6, 2.0)
    breath = _bp(rng.normal(0, 1, AUDIO_SAMPLES), 500, 2000)
    breath *= 0.5 + 0.5 * np.sin(2 * np.pi * rate / 2 * T_AUDIO) ** 8
    return x + 0.25 * breath


def snd_fall(rng, speed):
    out = np.zeros(AUDIO_SAMPLES)
    t0 = rng.uniform(0.4, 1.3)
    for _ in range(int(rng.integers(3, 8))):  # scuffle before
        m = int(0.06 * SR)
        _add(out, (t0 - rng.uniform(0.05, 0.4)) * SR, _bp(rng.normal(0, 1, m), 300, 3000) * _env(m, 0.005, 0.02) * 0.4)
    m = int(0.6 * SR)
    tt = np.arange(m) / SR
    thud = np.sin(2 * np.pi * rng.uniform(40, 90) * tt) * _env(m, 0.003, 0.12) * 2.5
    thud += _lp(rng.normal(0, 1, m), 2500) * _env(m, 0.001, 0.05) * 1.5
    _add(out, t0 * SR, thud)
    if rng.random() < 0.6:  # a cry just before the impact
        n = int(0.25 * SR)
        f = rng.uniform(180, 350) * np.linspace(1.2, 0.9, n)
        _add(out, (t0 - 0.3) * SR, _tone(f, [1, 0.7, 0.5, 0.3]) * np.hanning(n) * 0.5)
    return out


def snd_car(rng, speed):
    t = T_AUDIO
    tp = rng.uniform(0.4, 1.6)
    w = rng.uniform(0.3, 0.8) / speed
    env = np.exp(-0.5 * ((t - tp) / w) ** 2) + 0.1
    dop = 1 + 0.08 * np.tanh(-(t - tp) / (w * 0.4))
    f0 = rng.uniform(30, 60) * dop
    x = _tone(f0, [1 / (k + 1) for k in range(10)])
    tyre = _bp(rng.normal(0, 1, AUDIO_SAMPLES), 200, 2500)
    return (0.5 * x / (np.std(x) + 1e-9) + tyre / (np.std(tyre) + 1e-9)) * env


SOUNDS = {"siren": snd_siren, "dog": snd_dog, "engine": snd_engine, "rain": snd_rain, "speech": snd_speech,
          "bird": snd_bird, "glass_breaking": snd_glass, "knocking": snd_knock, "fire": snd_fire, "fan": snd_fan,
          "walking": snd_walk, "running": snd_run, "falling": snd_fall, "car": snd_car}


def background_noise(rng, n=AUDIO_SAMPLES):
    kind = int(rng.integers(3))
    if kind == 0:
        x = rng.normal(0, 1, n)
    elif kind == 1:
        x = _pink(rng, n)
    else:
        x = _lp(rng.normal(0, 1, n), 300)
    x = x / (np.std(x) + 1e-9)
    if rng.random() < 0.3:  # mains hum
        x += 0.5 * np.sin(2 * np.pi * rng.choice([50, 60]) * np.arange(n) / SR)
    return x


def render_audio(rng, concept: str, snr_db=None, with_concept=True):
    speed = float(rng.uniform(0.85, 1.15))
    x = SOUNDS[concept](rng, speed) if with_concept else np.zeros(AUDIO_SAMPLES)
    x = x / (np.sqrt(np.mean(x ** 2)) + 1e-9) if with_concept else x
    noise = background_noise(rng)
    if snr_db is None:
        snr_db = float(rng.uniform(3, 30))
    y = x + noise * 10 ** (-snr_db / 20)
    level = 10 ** (float(rng.uniform(-34, -14)) / 20)  # overall RMS level (dBFS)
    y = y / (np.sqrt(np.mean(y ** 2)) + 1e-9) * level
    peak = float(np.max(np.abs(y)))
    if peak > 0.98:  # a limiter rather than clipping
        y = y * (0.98 / peak)
    return y.astype(np.float32)


# ----------------------------------------------------------------------------------------------
# IMU of the camera wearer

T_IMU = np.arange(IMU_SAMPLES) / IMU_RATE


def _smooth_step(t, t0, dur):
    return np.clip((t - t0) / dur, 0, 1) ** 2 * (3 - 2 * np.clip((t - t0) / dur, 0, 1))


def _gait(rng, rate, amp, t=T_IMU):
    ph = 2 * np.pi * rate * t + rng.uniform(0, 6.3)
    lin = np.zeros((len(t), 3))
    lin[:, 2] = amp * (np.abs(np.sin(ph)) - 2 / np.pi) * 2  # vertical bounce each step
    lin[:, 0] = 0.35 * amp * np.sin(ph / 2)  # lateral sway per stride
    lin[:, 1] = 0.3 * amp * np.sin(2 * ph)  # fore-aft
    gyr = np.zeros((len(t), 3))
    gyr[:, 2] = 0.15 * amp / 3 * np.sin(ph / 2)
    gyr[:, 0] = 0.08 * amp / 3 * np.cos(ph)
    gyr[:, 1] = 0.05 * amp / 3 * np.sin(ph)
    return lin, gyr


def render_imu(rng, concept: str):
    """Device frame: z up (gravity reads +g on az at rest), x right, y forward."""
    t = T_IMU
    n = IMU_SAMPLES
    lin = np.zeros((n, 3))
    gyr = np.zeros((n, 3))
    pitch = np.zeros(n)  # extra pitch (rad), rotates gravity between z and y
    roll = np.zeros(n)
    speed = float(rng.uniform(0.85, 1.15))
    # everybody sways a little
    lin += 0.05 * rng.normal(0, 1, (n, 3))
    sway = 0.02 * np.sin(2 * np.pi * rng.uniform(0.1, 0.4) * t + rng.uniform(0, 6))
    roll += sway
    if concept == "walking":
        l, g = _gait(rng, rng.uniform(1.6, 2.1) * speed, rng.uniform(1.5, 3.0))
        lin += l
        gyr += g
    elif concept == "running":
        l, g = _gait(rng, rng.uniform(2.6, 3.3) * speed, rng.uniform(6, 11))
        lin += l
        gyr += g
        pitch += 0.2
    elif concept == "falling":
        tf = rng.uniform(2.5, 7.5)
        l, g = _gait(rng, rng.uniform(1.6, 2.0), rng.uniform(1.5, 2.5))
        before = (t < tf)[:, None]
        lin += l * before
        gyr += g * before
        fall_d = rng.uniform(0.35, 0.6)
        pitch += (np.pi / 2 * rng.uniform(0.8, 1.0)) * _smooth_step(t, tf, fall_d)
        roll += rng.normal(0, 0.4) * _smooth_step(t, tf, fall_d)
        ff = (t >= tf) & (t < tf + fall_d)
        lin[ff, 2] -= G * 0.8  # near free fall
        imp = np.exp(-np.clip(t - tf - fall_d, 0, None) / 0.05) * (t >= tf + fall_d)
        lin += imp[:, None] * rng.uniform(15, 35) * np.array([rng.normal(0, 0.3), rng.normal(0, 0.3), 1.0])
        after = t > tf + fall_d + 0.3
        lin[after] *= 0.2
    elif concept == "engine":
        f = rng.uniform(25, 60) * speed
        lin += rng.uniform(0.4, 1.5) * np.stack([np.sin(2 * np.pi * f * t + p) for p in rng.uniform(0, 6, 3)], 1) * rng.uniform(0.3, 1, 3)
        gyr += 0.03 * np.stack([np.sin(2 * np.pi * f * t + p) for p in rng.uniform(0, 6, 3)], 1)
    elif concept == "fan":
        f = rng.uniform(12, 22) * speed
        lin += rng.uniform(0.1, 0.35) * np.stack([np.sin(2 * np.pi * f * t + p) for p in rng.uniform(0, 6, 3)], 1)
        gyr += 0.01 * np.stack([np.sin(2 * np.pi * f * t + p) for p in rng.uniform(0, 6, 3)], 1)
    elif concept == "car":  # riding along: slow accelerations, road vibration, turns
        for _ in range(int(rng.integers(2, 5))):
            t0, d, a = rng.uniform(0, 9), rng.uniform(1, 3), rng.normal(0, 2.5)
            lin[:, 1] += a * np.exp(-0.5 * ((t - t0) / d) ** 2)
        for _ in range(int(rng.integers(1, 3))):
            t0, d, w = rng.uniform(0, 9), rng.uniform(1, 2.5), rng.normal(0, 0.3)
            gyr[:, 2] += w * np.exp(-0.5 * ((t - t0) / d) ** 2)
            lin[:, 0] += w * 8 * np.exp(-0.5 * ((t - t0) / d) ** 2)
        lin += 0.4 * _bp_imu(rng.normal(0, 1, (n, 3)), 8, 20)
    elif concept == "siren":  # startled: a fast head turn towards the sound, then stepping aside
        t0 = rng.uniform(1, 6)
        ang = rng.choice([-1, 1]) * rng.uniform(1.0, 2.0)
        gyr[:, 2] += ang * np.exp(-0.5 * ((t - t0) / 0.2) ** 2) / (0.2 * np.sqrt(2 * np.pi))
        l, g = _gait(rng, rng.uniform(1.8, 2.2), rng.uniform(1.0, 2.0))
        later = ((t > t0 + 0.5) & (t < t0 + 2.5))[:, None]
        lin += l * later
        gyr += g * later
    elif concept == "dog":  # crouching down to the dog, hand stroking
        t0 = rng.uniform(0.5, 3)
        dn = _smooth_step(t, t0, 0.8) - _smooth_step(t, t0 + rng.uniform(4, 6), 0.8)
        lin[:, 2] += np.gradient(np.gradient(-0.6 * dn, 1 / IMU_RATE), 1 / IMU_RATE)
        pitch -= 0.5 * dn
        pet = rng.uniform(0.8, 1.5)
        lin[:, 1] += 0.8 * dn * np.sin(2 * np.pi * pet * t)
        gyr[:, 0] += 0.15 * dn * np.cos(2 * np.pi * pet * t)
    elif concept == "rain":  # hunched, shivering
        lin += 0.25 * _bp_imu(rng.normal(0, 1, (n, 3)), 6, 12)
        gyr += 0.05 * _bp_imu(rng.normal(0, 1, (n, 3)), 6, 12)
        pitch -= 0.3
    elif concept == "speech":  # conversation: nodding
        nod = np.zeros(n)
        for _ in range(int(rng.integers(3, 7))):
            t0 = rng.uniform(0, 9.5)
            nod += np.exp(-0.5 * ((t - t0) / 0.35) ** 2) * np.sin(2 * np.pi * rng.uniform(2, 3.5) * (t - t0))
        gyr[:, 0] += 0.6 * nod
        pitch += 0.1 * np.cumsum(0.6 * nod) / IMU_RATE
    elif concept == "bird":  # looking up and slowly tracking the bird
        pitch += 0.6 + 0.2 * np.sin(2 * np.pi * rng.uniform(0.08, 0.2) * t)
        pan = rng.uniform(0.15, 0.4) * np.sin(2 * np.pi * rng.uniform(0.1, 0.25) * t + rng.uniform(0, 6))
        gyr[:, 2] += pan
    elif concept == "glass_breaking":  # startle jerk then frozen still
        t0 = rng.uniform(1, 7)
        lin += np.exp(-np.clip(t - t0, 0, None) / 0.08)[:, None] * (t >= t0)[:, None] * rng.normal(0, 6, 3)
        gyr += np.exp(-np.clip(t - t0, 0, None) / 0.1)[:, None] * (t >= t0)[:, None] * rng.normal(0, 2, 3)
        lin[t > t0 + 0.5] *= 0.1
    elif concept == "knocking":  # arm knocks transmitted as sharp taps in groups
        tt = rng.uniform(0, 1)
        while tt < 9.5:
            for _ in range(int(rng.integers(2, 5))):
                k = np.exp(-np.clip(t - tt, 0, None) / 0.015) * (t >= tt)
                lin[:, 1] += k * rng.uniform(4, 8)
                gyr[:, 0] += k * rng.uniform(0.5, 1.0)
                tt += rng.uniform(0.15, 0.28) * speed
            tt += rng.uniform(1.0, 2.5)
    elif concept == "fire":  # standing by the fire, slowly rocking, warming hands
        rock = rng.uniform(0.2, 0.4)
        lin[:, 1] += 1.0 * np.sin(2 * np.pi * rock * t)
        gyr[:, 1] += 0.25 * np.cos(2 * np.pi * rock * t)
        roll += 0.15 * np.sin(2 * np.pi * rock * t)
    # gravity in the device frame from pitch/roll + a random mounting tilt
    pitch += rng.normal(0, 0.12)
    roll += rng.normal(0, 0.12)
    grav = np.stack([G * np.sin(roll) * np.cos(pitch), G * np.sin(pitch), G * np.cos(pitch) * np.cos(roll)], 1)
    gyr[:, 0] += np.gradient(pitch, 1 / IMU_RATE)
    gyr[:, 1] += np.gradient(roll, 1 / IMU_RATE)
    acc = grav + lin + rng.normal(0, 0.04, (n, 3))
    gyr = gyr + rng.normal(0, 0.004, (n, 3)) + rng.normal(0, 0.01, 3)  # noise + bias
    return np.concatenate([acc, gyr], 1).astype(np.float32)


def _bp_imu(x, lo, hi):
    sos = signal.butter(2, [lo, hi], btype="band", fs=IMU_RATE, output="sos")
    y = signal.sosfilt(sos, x, axis=0)
    return y / (np.std(y) + 1e-9)


# ----------------------------------------------------------------------------------------------
# captions and the full sample

def caption(rng, concept_index: int, attrs: dict) -> str:
    _, art, _, syns = BACKGROUND_ENTRY if concept_index == BACKGROUND else CONCEPTS[concept_index]
    x = syns[int(rng.integers(len(syns)))]
    tmpl = CAPTION_TEMPLATES[int(rng.integers(len(CAPTION_TEMPLATES)))]
    c = tmpl.format(a=article_for(x, art), x=x)
    if rng.random() < 0.3:
        opts = []
        opts.append("at night" if attrs.get("night") else "in daylight")
        opts.append("outdoors" if attrs.get("outdoor") else "indoors")
        c = c + " " + opts[int(rng.integers(len(opts)))]
    return c


def rng_for(seed: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), 0xED6E])))


def streams(seed: int, n: int) -> list[np.random.Generator]:
    """Independent generators for the parts of one sample (vision, audio, IMU, caption)."""
    return [np.random.Generator(np.random.PCG64(s)) for s in np.random.SeedSequence([int(seed), 0xED6E]).spawn(n)]


def concept_for_seed(seed: int) -> int:
    return int(seed) % NUM_CONCEPTS


def render(seed: int, concept: int | None = None) -> dict:
    """One paired sample. All modalities show the same concept (or, for BACKGROUND, none); nuisances are
    independent draws."""
    if concept is None:
        concept = concept_for_seed(seed)
    background = concept == BACKGROUND
    key = "background" if background else CONCEPT_KEYS[concept]
    r_vis, r_aud, r_imu, r_txt = streams(seed, 4)
    image, depth, thermal, attrs = render_visual(r_vis, None if background else key)
    audio = render_audio(r_aud, key, with_concept=not background)
    imu = render_imu(r_imu, "none" if background else key)
    cap = caption(r_txt, concept, attrs)
    return {"seed": int(seed), "concept": concept, "key": key, "image": image, "depth": depth,
            "thermal": thermal, "audio": audio, "imu": imu, "caption": cap, "attrs": attrs, "box": attrs["box"]}


if __name__ == "__main__":  # quick look: python3 world.py OUTDIR
    import sys
    import time
    out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/world_preview"
    import os
    os.makedirs(out, exist_ok=True)
    t0 = time.time()
    tiles = []
    for c in range(NUM_CONCEPTS):
        s = render(c + 14 * 3)
        dep = (np.clip(s["depth"] / 15, 0, 1) * 255).astype(np.uint8)
        th = (np.clip((s["thermal"] + 20) / 140, 0, 1) * 255).astype(np.uint8)
        tiles.append(np.concatenate([s["image"], np.stack([dep] * 3, -1), np.stack([th] * 3, -1)], 1))
        print(c, s["key"], s["caption"], float(np.abs(s["audio"]).max()), s["imu"].mean(0).round(2))
    Image.fromarray(np.concatenate(tiles[:7], 0)).save(f"{out}/a.png")
    Image.fromarray(np.concatenate(tiles[7:], 0)).save(f"{out}/b.png")
    print("time per sample", (time.time() - t0) / NUM_CONCEPTS)
