"""The Python noise must equal the published vectors bit for bit (and so the TypeScript engine's)."""

import hashlib
import json
import struct
import unittest
from pathlib import Path

from zoetrope.noise import float32_bits, gaussian_noise, philox4x32

VECTORS = json.loads((Path(__file__).resolve().parents[3] / "contracts" / "noise-vectors.json").read_text())


class PhiloxKnownAnswers(unittest.TestCase):
    def test_random123_kat_vectors(self):
        for case in VECTORS["philox4x32_10"]:
            counter = [int(x, 16) for x in case["counter"]]
            key = [int(x, 16) for x in case["key"]]
            got = ["%08x" % w for w in philox4x32(counter, key)]
            self.assertEqual(got, case["output"])


class GaussianNoiseVectors(unittest.TestCase):
    def test_listed_values_are_bit_identical(self):
        for case in VECTORS["normals"]:
            with self.subTest(seed=case["seed"], stream=case["stream"], offset=case["offset"]):
                values = gaussian_noise(case["seed"], case["stream"], case["count"], case["offset"])
                self.assertEqual([float32_bits(v) for v in values], case["float32Bits"])

    def test_long_draw_digest(self):
        for case in VECTORS["digests"]:
            values = gaussian_noise(case["seed"], case["stream"], case["count"], case["offset"])
            digest = hashlib.sha256(struct.pack("<%df" % len(values), *values)).hexdigest()
            self.assertEqual(digest, case["sha256OfFloat32LE"])

    def test_slices_equal_the_same_slice_of_a_longer_draw(self):
        whole = gaussian_noise(9, 1, 40)
        self.assertEqual(gaussian_noise(9, 1, 11, 17), whole[17:28])

    def test_bad_arguments_are_refused_with_the_field_named(self):
        with self.assertRaisesRegex(ValueError, "noise seed"):
            gaussian_noise(-1, 0, 4)
        with self.assertRaisesRegex(ValueError, "noise stream"):
            gaussian_noise(0, 2**32, 4)
        with self.assertRaisesRegex(ValueError, "noise count"):
            gaussian_noise(0, 0, -4)


if __name__ == "__main__":
    unittest.main()
