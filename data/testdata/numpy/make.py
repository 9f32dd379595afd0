# Writes the .npy files in this folder with NumPy itself, to check the Go
# reader against the real writer. Run: python3 make.py (needs python3-numpy).
import numpy as np

x = np.arange(24, dtype=np.float32).reshape(4, 6) / 8 - 1
np.save("x-f4.npy", x)
np.save("x-f8.npy", x.astype(np.float64))
np.save("x-u1-nhwc.npy", (np.arange(4 * 2 * 3 * 2) * 5 % 256).astype(np.uint8).reshape(4, 2, 3, 2))
np.save("x-fortran.npy", np.asfortranarray(x))
np.save("x-bigendian.npy", x.astype(">f4"))
y = np.array([3, 0, 2, 1])
np.save("y-i8.npy", y.astype(np.int64))
np.save("y-u1.npy", y.astype(np.uint8))
# Versions 2.0 and 3.0 are written only when needed; ask for them.
with open("x-f4-v2.npy", "wb") as f:
    np.lib.format.write_array(f, x, version=(2, 0))
with open("x-f4-v3.npy", "wb") as f:
    np.lib.format.write_array(f, x, version=(3, 0))
