#!/usr/bin/env python3
"""Makes the bad-input corpus: files under files/ and one case per line in cases.tsv.

Run from anywhere: python3 tests/bad-inputs/make_corpus.py (needs ffmpeg for the small
frames and clip it mutates). The output is checked in; tests/bad_inputs.rs runs the CLI on
every case. See README.md here for the case format.
"""

import os
import shutil
import struct
import subprocess
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FILES = os.path.join(HERE, "files")

SAMPLE = os.path.join(ROOT, "assets/opencv_sample/sample.jpg")
RING_JPG = os.path.join(ROOT, "assets/synthetic_ring/ring_1440.jpg")
MEI_TOML = os.path.join(ROOT, "assets/opencv_sample/sample_mei_calib.toml")
MEI_YAML = os.path.join(ROOT, "assets/opencv_sample/sample_mei_calib.yml")
MEI_XML = os.path.join(ROOT, "tests/fixtures/sample_mei_calib.xml")
RING_TOML = os.path.join(ROOT, "assets/synthetic_ring/ring_1440.toml")
OCAM = os.path.join(ROOT, "tests/fixtures/ocam_calib_results.txt")

cases = []


def read(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


def write(name, data):
    path = os.path.join(FILES, name)
    with open(path, "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)
    return "{corpus}/" + name


def case(name, needle, *args):
    assert "\t" not in name + needle + "".join(args)
    cases.append((name, needle) + args)


def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


def with_line(text, prefix, line):
    """`text` with the first line starting with `prefix` replaced by `line` (None: removed)."""
    out, done = [], False
    for l in text.splitlines():
        if not done and l.strip().startswith(prefix):
            done = True
            if line is not None:
                out.append(line)
        else:
            out.append(l)
    assert done, prefix
    return "\n".join(out) + "\n"


def slug(text):
    return "".join(c if c.isalnum() else "_" for c in text).strip("_")


# --- Valid bases, small: a 360² ring frame and a 320×240 Mei frame, and a 5-frame clip.
shutil.rmtree(FILES, ignore_errors=True)
os.makedirs(FILES)
ffmpeg("-i", RING_JPG, "-vf", "scale=360:360", "-q:v", "5", os.path.join(FILES, "ring_360.jpg"))
ffmpeg("-i", SAMPLE, "-vf", "scale=320:240", "-q:v", "5", os.path.join(FILES, "mei_320.jpg"))
ffmpeg("-i", SAMPLE, "-vf", "scale=160:120", os.path.join(FILES, "mei_160.png"))
ffmpeg("-loop", "1", "-i", os.path.join(FILES, "mei_320.jpg"), "-frames:v", "5", "-r", "5",
       "-c:v", "mpeg4", "-pix_fmt", "yuv420p", os.path.join(FILES, "clip.mp4"))
RING_FRAME = "{corpus}/ring_360.jpg"
MEI_FRAME = "{corpus}/mei_320.jpg"
CLIP = "{corpus}/clip.mp4"
MEI = "{corpus}/mei.toml"
write("mei.toml", read(MEI_TOML))
OUT = "{dir}/out.png"


def convert_with(calib, frame, name, needle):
    case(name, needle, "convert", frame, "--calib", calib, "--size", "64x32", "-o", OUT)


# --- Each calibration format, each field made absurd (or removed where it is required).
ring = read(RING_TOML)
RING_FIELDS = {
    "format": ['format = "other"', None],
    "version": ["version = 2", 'version = "one"'],
    "image_size": ["image_size = [0, 0]", "image_size = [1440]", "image_size = [-5, 1440]",
                   "image_size = [1000000000, 1000000000]"],
    "type": ['type = "kannala_brandt"', None],
    "center": ["center = [nan, 719.5]", "center = [1e9, 719.5]", "center = [719.5]",
               'center = "middle"', None],
    "radius_inner": ["radius_inner = nan", "radius_inner = -10.0", "radius_inner = 800.0",
                     None],
    "radius_outer": ["radius_outer = nan", "radius_outer = 1e308", "radius_outer = 0.0",
                     "radius_outer = inf", None],
    "elevation_inner_deg": ["elevation_inner_deg = nan", "elevation_inner_deg = 200.0",
                            "elevation_inner_deg = 60.0"],
    "elevation_outer_deg": ["elevation_outer_deg = nan", "elevation_outer_deg = -200.0",
                            "elevation_outer_deg = inf"],
    "heading_at_top_deg": ["heading_at_top_deg = nan", 'heading_at_top_deg = "north"'],
    "mirrored": ["mirrored = 3", 'mirrored = "yes"'],
}
for field, lines in RING_FIELDS.items():
    for line in lines:
        label = line if line is not None else "removed"
        text = with_line(ring, field, line)
        needle = field
        if field == "type":
            needle = "kannala_brandt" if line else "type"
        path = write(f"ring_{slug(field)}_{slug(label)}.toml", text)
        convert_with(path, RING_FRAME, f"ring toml: {label} ({field})", needle)

mei = read(MEI_TOML)
for field in ["fx", "fy", "cx", "cy", "skew", "xi", "k1", "k2", "p1", "p2"]:
    # skew and the distortion coefficients are optional (0 when absent): only their values.
    required = field in ("fx", "fy", "cx", "cy", "xi")
    for value in ["nan", "1e308", '"x"'] + ([None] if required else []):
        line = f"{field} = {value}" if value is not None else None
        label = line if line is not None else "removed"
        path = write(f"mei_{field}_{slug(str(value))}.toml", with_line(mei, field + " ", line))
        convert_with(path, MEI_FRAME, f"mei toml: {label} ({field})", field)
for field, line, needle in [
    ("fx", "fx = -408.9", "fx"),
    ("fx", "fx = 0.0", "fx"),
    ("xi", "xi = -5.0", "xi"),
    ("axis", 'axis = "sideways"', "sideways"),
    ("elevation_min_deg", "elevation_min_deg = nan", "elevation_min_deg"),
    ("elevation_min_deg", "elevation_min_deg = 30.0", "elevation"),
    ("elevation_max_deg", "elevation_max_deg = 500.0", "elevation_max_deg"),
    ("image_size", "image_size = [1280, 0]", "image_size"),
]:
    path = write(f"mei_{slug(line)}.toml", with_line(mei, field + " ", line))
    convert_with(path, MEI_FRAME, f"mei toml: {line}", needle)
dup = mei.replace("xi = ", "xi = 2.0\nxi = ", 1)
convert_with(write("mei_duplicate_xi.toml", dup), MEI_FRAME, "mei toml: xi twice", "xi")
convert_with(write("mei_half.toml", mei[: len(mei) // 2]), MEI_FRAME, "mei toml: cut in half",
             "mei_half.toml")
convert_with(write("empty.toml", b""), MEI_FRAME, "empty calibration", "empty.toml")
convert_with(write("garbage.toml", bytes(range(256)) * 4), MEI_FRAME, "binary calibration",
             "garbage.toml")
convert_with(write("nested.toml", "a = " + "[" * 50000 + "]" * 50000 + "\n"), MEI_FRAME,
             "toml nested 50000 deep", "nested.toml")

yaml = read(MEI_YAML)
for name, text, needle in [
    ("xi nan", with_line(yaml, "xi:", "xi: .nan"), "xi"),
    ("xi text", with_line(yaml, "xi:", "xi: big"), "xi"),
    ("xi removed", with_line(yaml, "xi:", None), "xi"),
    ("xi twice", with_line(yaml, "xi:", "xi: 1.05\nxi: 2.0"), "twice"),
    ("model names another", with_line(yaml, "model:", "model: kannala_brandt"),
     "kannala_brandt"),
    ("image_width -1", with_line(yaml, "image_width:", "image_width: -1"), "image_width"),
    ("image_width 0", with_line(yaml, "image_width:", "image_width: 0"), "image_width"),
    ("image_height text", with_line(yaml, "image_height:", "image_height: tall"),
     "image_height"),
    ("camera_matrix 2 rows", with_line(yaml, "rows: 3", "rows: 2"), "camera_matrix"),
    ("camera_matrix data short", with_line(yaml, "data: [ 408.9", "   data: [ 408.9, 1.0,"),
     "camera_matrix"),
    ("camera_matrix fx nan",
     yaml.replace("408.90317739510289", ".nan", 1), "fx"),
    ("distortion 3 values", with_line(yaml, "cols: 4", "cols: 3"), "distortion"),
    ("camera_matrix removed",
     yaml.replace("camera_matrix:", "camera_matrix_old:", 1), "camera_matrix"),
    ("cut in half", yaml[: len(yaml) // 2], "yml"),
    ("nested 50000 deep", "%YAML 1.2\n---\nxi: " + "[" * 50000 + "]" * 50000 + "\n", "yml"),
]:
    path = write(f"yaml_{slug(name)}.yml", text)
    convert_with(path, MEI_FRAME, f"opencv yaml: {name}", needle)

xml = read(MEI_XML)
for name, text, needle in [
    ("xi nan", xml.replace("<xi>1.0533861095817736</xi>", "<xi>nan</xi>"), "xi"),
    ("xi removed", xml.replace("<xi>1.0533861095817736</xi>", ""), "xi"),
    ("xi twice", xml.replace("<xi>", "<xi>2.0</xi><xi>", 1), "twice"),
    ("image_width text", xml.replace("<image_width>1280", "<image_width>wide"), "image_width"),
    ("rows 2", xml.replace("<rows>3</rows>", "<rows>2</rows>", 1), "camera_matrix"),
    ("data short", xml.replace("0. 0. 1.</data>", "</data>", 1), "camera_matrix"),
    ("unclosed tag", xml.replace("</opencv_storage>", ""), "xml"),
    ("cut in half", xml[: len(xml) // 2], "xml"),
    ("nested 50000 deep",
     '<?xml version="1.0"?>\n<opencv_storage>' + "<a>" * 50000 + "</a>" * 50000
     + "</opencv_storage>\n", "xml"),
]:
    path = write(f"xml_{slug(name)}.xml", text)
    convert_with(path, MEI_FRAME, f"opencv xml: {name}", needle)

ocam = read(OCAM)
for name, text, needle in [
    ("size 4e9", with_line(ocam, "960 1280", "4000000000 4000000000"), "image_size"),
    ("size 0", with_line(ocam, "960 1280", "0 0"), "image_size"),
    ("40 coefficients", with_line(ocam, "5 -1.99", "40 -199.0" + " 0.0" * 39), "pol"),
    ("degree says 5, 3 given", with_line(ocam, "5 -1.99", "5 -1.990624e+02 0.0 1.27e-03"),
     "pol"),
    ("pol nan", with_line(ocam, "5 -1.99", "5 nan 0.0 1.27e-03 2.0e-07 -2.2e-10"), "pol"),
    ("invpol nan", with_line(ocam, "9 388", "9 nan 378.38 186.28 136.73 98.46 69.19 38.46 "
                             "13.35 2.03"), "invpol"),
    ("centre nan", with_line(ocam, "431.915630", "nan 630.281960"), "center"),
    ("affine degenerate", with_line(ocam, "1.003855", "0 0 0"), "affine"),
    ("size removed", ocam[: ocam.index("960 1280")], "image_size"),
    ("text instead of numbers", with_line(ocam, "5 -1.99", "five coefficients"), "pol"),
]:
    path = write(f"ocam_{slug(name)}.txt", text)
    convert_with(path, MEI_FRAME, f"ocamcalib: {name}", needle)

# --- Images.
jpeg = read(os.path.join(FILES, "mei_320.jpg"), "rb")
png = read(os.path.join(FILES, "mei_160.png"), "rb")


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_claiming(width, height):
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr)


def jpeg_claiming(width, height):
    """The sample JPEG with its frame header (SOF0) claiming another size."""
    at = jpeg.index(b"\xff\xc0")
    return jpeg[: at + 5] + struct.pack(">HH", height, width) + jpeg[at + 9:]


def png_bomb(side):
    """A PNG of side² RGBA pixels (side² · 4 bytes decoded) whose one IDAT chunk holds the
    first megabyte of its zero rows: a decompression bomb cut to a few KB."""
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 6, 0, 0, 0)
    data = zlib.compress(b"\x00" * (1 << 20), 9)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", data)
            + png_chunk(b"IEND", b""))


flipped_crc = bytearray(png)
flipped_crc[29] ^= 0xFF  # the IHDR CRC
IMAGES = [
    ("zero-byte jpeg", "zero.jpg", b"", "empty"),
    ("zero-byte png", "zero.png", b"", "empty"),
    ("jpeg header only", "header_only.jpg", jpeg[:400], "header_only.jpg"),
    ("jpeg first 10 bytes", "ten.jpg", jpeg[:10], "ten.jpg"),
    ("jpeg without its start marker", "no_soi.jpg", b"\x00\x00" + jpeg[2:], "no_soi.jpg"),
    ("jpeg claiming 65500x65500", "huge.jpg", jpeg_claiming(65500, 65500), "huge.jpg"),
    ("jpeg claiming 0 rows", "zero_rows.jpg", jpeg_claiming(320, 0), "zero_rows.jpg"),
    ("png claiming 100000x100000", "huge.png", png_claiming(100000, 100000), "huge.png"),
    ("png claiming 0x0", "zero_size.png", png_claiming(0, 0), "zero_size.png"),
    ("png with a bad header checksum", "bad_crc.png", bytes(flipped_crc), "bad_crc.png"),
    ("png cut before its data", "no_idat.png", png[:33], "no_idat.png"),
    ("png cut in its data", "cut_idat.png", png[: len(png) // 3], "cut_idat.png"),
    ("png bomb 30000x30000 RGBA (3.6 GB decoded)", "bomb.png", png_bomb(30000), "bomb.png"),
    ("text named .jpg", "text.jpg", b"hello, I am not a picture\n", "text.jpg"),
    ("gif header only", "header.gif", b"GIF89a\x10\x00\x10\x00", "header.gif"),
    ("random bytes named .png", "random.png", bytes((i * 7919) % 251 for i in range(4096)),
     "random.png"),
]
for name, file, data, needle in IMAGES:
    path = write(file, data)
    # A GIF is read as a video (it may be animated): its output is one too.
    out = "{dir}/out.mp4" if file.endswith(".gif") else OUT
    case(f"image: {name}", needle, "convert", path, "--calib", MEI, "-o", out)
case("image: detect on a zero-byte file", "empty", "detect", "{corpus}/zero.jpg")
case("image: detect on text", "text.jpg", "detect", "{corpus}/text.jpg")
case("image: input is a folder", "files", "convert", "{corpus}", "--calib", MEI, "-o", OUT)
case("image: input does not exist", "missing.jpg", "convert", "{corpus}/missing.jpg",
     "--calib", MEI, "-o", OUT)
case("image: render-mirror of a zero-byte panorama", "empty", "render-mirror",
     "{corpus}/zero.jpg", "--calib", MEI, "-o", OUT)

# --- Videos.
clip = read(os.path.join(FILES, "clip.mp4"), "rb")
moov = clip.index(b"moov")
bitflipped = bytearray(clip)
for i in range(moov, min(len(clip), moov + 600), 7):
    bitflipped[i] ^= 0x5A
VIDEOS = [
    ("zero-byte mp4", "zero.mp4", b""),
    ("mp4 cut before its index", "no_moov.mp4", clip[:moov - 4]),
    ("mp4 header only", "header_only.mp4", clip[:32]),
    ("mp4 index bit-flipped", "flipped_moov.mp4", bytes(bitflipped)),
    ("random bytes named .mkv", "random.mkv", bytes((i * 104729) % 253 for i in range(8192))),
    ("y4m claiming 100000x100000", "huge.y4m",
     b"YUV4MPEG2 W100000 H100000 F25:1 Ip A1:1 C420jpeg\nFRAME\n" + b"\x80" * 1024),
    ("y4m with a broken header", "broken.y4m", b"YUV4MPEG2 Wabc Hxyz\nFRAME\n"),
]
for name, file, data in VIDEOS:
    path = write(file, data)
    case(f"video: {name}", file, "convert", path, "--calib", MEI, "-o", "{dir}/out.mp4")

# --- Camera paths.
for name, file, text, needle in [
    ("csv yaw nan", "yaw_nan.csv", "time,yaw,pitch,fov\n0,nan,0,90\n1,10,0,90\n", "yaw"),
    ("csv header without time", "no_time.csv", "yaw,pitch,fov\n0,0,90\n10,0,90\n", "time"),
    ("csv text", "words.csv", "time,yaw,pitch,fov\nnow,left,up,wide\n", "words.csv"),
    ("csv empty", "empty.csv", "", "empty.csv"),
    ("csv fov 0", "fov0.csv", "time,yaw,pitch,fov\n0,0,0,0\n1,0,0,0\n", "fov"),
    ("csv two keyframes at one time", "same_time.csv",
     "time,yaw,pitch,fov\n1,0,0,90\n1,10,0,90\n", "two keyframes"),
    ("json malformed", "bad.json", '[{"t":0,"yaw":0', "bad.json"),
    ("json nested 50000 deep", "nested.json", "[" * 50000 + "]" * 50000, "nested.json"),
    ("json pitch text", "pitch.json", '[{"t":0,"yaw":0,"pitch":"up","fov":90}]', "pitch"),
]:
    path = write(file, text)
    case(f"camera path: {name}", needle, "convert", CLIP, "--calib", MEI, "--projection",
         "perspective", "--size", "64x32", "--path", path, "-o", "{dir}/out.mp4")

# --- Absurd command-line values (usage errors: exit 2 and a hint).
STILL = ["convert", MEI_FRAME, "--calib", MEI, "-o", OUT]
VIDEO = ["convert", CLIP, "--calib", MEI, "--size", "64x32", "-o", "{dir}/out.mp4"]
for flags, needle in [
    (["--size", "0x0"], "--size"),
    (["--size=-1x5"], "--size"),
    (["--size", "99999x2"], "16384"),
    (["--size", "1x99999"], "16384"),
    (["--size", "big"], "--size"),
    (["--fov", "nan"], "--fov"),
    (["--projection", "perspective", "--fov", "0"], "fov"),
    (["--projection", "perspective", "--fov", "400"], "fov"),
    (["--fov", "90"], "equirect"),
    (["--yaw", "inf"], "--yaw"),
    (["--pitch", "1e400"], "--pitch"),
    (["--roll", "sideways"], "--roll"),
    (["--projection", "mercator"], "--projection"),
    (["--interp", "cubicx"], "--interp"),
    (["--antialias", "maybe"], "--antialias"),
    (["--fill", "zz"], "--fill"),
    (["--fill", "12345"], "--fill"),
    (["--backend", "tpu"], "--backend"),
    (["--foo"], "--foo"),
]:
    case(f"cli: {' '.join(flags)}", needle, *STILL, *flags)
for flags, needle in [
    (["--crf=-5"], "--crf"),
    (["--crf", "100"], "--crf"),
    (["--bitrate", "lots"], "--bitrate"),
    (["--frames", "0"], "--frames"),
    (["--start=-1"], "--start"),
    (["--duration", "nan"], "--duration"),
    (["--header", "no colon"], "--header"),
    (["--input-option", "novalue"], "--input-option"),
    (["--codec", "no_such_codec"], "no_such_codec"),
    (["--codec", "png"], "png"),
    (["--preset", "warp9"], "warp9"),
    (["--path", "{corpus}/missing.csv"], "missing.csv"),
]:
    case(f"cli video: {' '.join(flags)}", needle, *VIDEO, *flags)
case("cli: unknown command", "frobnicate", "frobnicate")
case("cli: convert without arguments", "--output", "convert")
case("cli: output extension", "extension", "convert", MEI_FRAME, "--calib", MEI, "-o",
     "{dir}/out.bmp")
case("cli: output into a missing folder", "missing", "convert", MEI_FRAME, "--calib", MEI,
     "-o", "{dir}/missing/out.png")
case("cli: output is a folder", "{dir}", "convert", MEI_FRAME, "--calib", MEI, "-o", "{dir}")
case("cli: output onto the input", "mei_320.jpg", "convert", MEI_FRAME, "--calib", MEI, "-o",
     MEI_FRAME)
case("cli: video options on a still", "--crf", *STILL, "--crf", "20")
case("cli: detect elevation nan", "--elevation-inner", "detect", RING_FRAME,
     "--elevation-inner", "nan")
case("cli: export-map format", "--format", "export-map", "--calib", MEI, "-o", "{dir}/map",
     "--format", "tiff")
case("cli: export-map into a missing folder", "missing", "export-map", "--calib", MEI, "-o",
     "{dir}/missing/map")
case("cli: info on /dev/zero", "larger than 1 MiB", "info", "/dev/zero")
case("cli: info on a folder", "files", "info", "{corpus}")
ring_32768 = ring
for key, line in [("image_size", "image_size = [32768, 32768]"),
                  ("center", "center = [16383.5, 16383.5]"),
                  ("radius_inner", "radius_inner = 5000"),
                  ("radius_outer", "radius_outer = 16000")]:
    ring_32768 = with_line(ring_32768, key, line)
case("cli: render-mirror at 32768 px", "16384", "render-mirror", RING_FRAME, "--calib",
     write("ring_32768.toml", ring_32768), "-o", OUT)
case("cli: render-mirror at 1e9 px", "image_size", "render-mirror", RING_FRAME, "--calib",
     "{corpus}/ring_image_size_image_size_1000000000_1000000000.toml", "-o", OUT)

with open(os.path.join(HERE, "cases.tsv"), "w") as f:
    f.write("# name\tneedle\targuments… (made by make_corpus.py; {corpus} is this folder's "
            "files/, {dir} a scratch folder per case)\n")
    for c in cases:
        f.write("\t".join(c) + "\n")
print(f"{len(cases)} cases, {len(os.listdir(FILES))} files")
