# Fit g(r) with exp(r) = 1 + r + r^2 g(r) on |r| <= ln2/2 (near-minimax via Chebyshev + Remez-lite)
import mpmath as mp
mp.mp.dps = 60
import numpy as np

def g(r):
    if r == 0: return mp.mpf(1)/2
    return (mp.exp(r) - 1 - r)/r**2

def fit(deg, a, b, npts=400, iters=30, tofloat=float):
    # weighted least squares on chebyshev nodes, then iterate weights (Lawson) to approach minimax of relative error of exp
    xs = [ (a+b)/2 + (b-a)/2*mp.cos(mp.pi*(k+0.5)/npts) for k in range(npts)]
    w = [mp.mpf(1)]*npts
    for it in range(iters):
        A = mp.matrix(npts, deg+1); y = mp.matrix(npts,1)
        for i,x in enumerate(xs):
            sw = mp.sqrt(w[i]) * x**2/mp.exp(x)   # error in exp = r^2 * err(g); relative to exp(r)
            for j in range(deg+1): A[i,j] = sw*x**j
            y[i] = sw*g(x)
        c = mp.lu_solve(A.T*A, A.T*y)
        errs = [abs(sum(c[j]*x**j for j in range(deg+1)) - g(x))*x**2/mp.exp(x) for x in xs]
        s = sum(w[i]*errs[i] for i in range(npts))
        w = [w[i]*errs[i]/s for i in range(npts)]
    return [c[j] for j in range(deg+1)], max(errs)

ln2h = mp.log(2)/2
for deg in (8, 9):
    c, e = fit(deg, -ln2h, ln2h)
    print("f64 deg", deg, "max rel err", mp.nstr(e, 5))
    print([float(ci).hex() for ci in c])
for deg in (3, 4):
    c, e = fit(deg, -ln2h, ln2h)
    print("f32 deg", deg, "max rel err", mp.nstr(e, 5))
    print([float(np.float32(float(ci))).hex() for ci in c])
# xm512_exp_core16_f32acc (src/xentc_avx512.h): g of degree 2 on |r| <= ln2/16 (the difference
# of two reduced arguments), for float32 results
c, e = fit(2, -mp.log(2)/16, mp.log(2)/16)
print("f32 core16 deg 2 max rel err", mp.nstr(e, 5))
print([float(ci).hex() for ci in c])
# xm512_exp_offset_ps (src/xentc_avx512.h): float-native exponentials, g of degree 1 on
# |r| <= 0.0232 (ln2 / 32 widened by the float constant 16 / ln2), coefficients in float32
c, e = fit(1, -mp.mpf('0.0232'), mp.mpf('0.0232'))
print("f32 native deg 1 max rel err", mp.nstr(e, 5))
print([float(np.float32(float(ci))).hex() for ci in c])
# its table 2^(i/16) rounded to float32, and the entries' relative rounding errors
tab = [mp.mpf(2) ** (mp.mpf(i) / 16) for i in range(16)]
tabf = [float(np.float32(float(t))) for t in tab]
print([t.hex() for t in tabf])
print([float(np.float32(float((t - mp.mpf(tf)) / tf))).hex() for t, tf in zip(tab, tabf)])
