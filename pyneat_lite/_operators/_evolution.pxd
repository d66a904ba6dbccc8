# The operator codes, defined once: the kernels of ``_evolution.pyx`` switch
# on them and ``pyneat_lite.operators`` reads them from the module (a
# ``cpdef enum`` is both a C enum and a Python ``IntEnum``).  Other Cython
# modules may cimport them.

cpdef enum SelectionCode:
    SEL_PRE = 0         # indices precomputed by the caller (SUS)
    SEL_TOURNAMENT = 1  # best of k uniform draws on oriented keys
    SEL_CDF = 2         # inverse CDF on cumulative weights (roulette, rank)
    SEL_CAND = 3        # uniform over a candidate list (truncation, random)

cpdef enum CrossoverCode:
    CX_COPY = 0     # no crossover: a copy of the first parent
    CX_UNIFORM = 1  # prm [swap_prob, inv_lambda of min(p, 1 - p)]
    CX_KPOINT = 2   # prm [k]
    CX_BLEND = 3    # prm [alpha]
    CX_BLX = 4      # prm [alpha]
    CX_SBX = 5      # prm [eta, low, high, bounded]
    CX_NEURON = 6   # prm [swap_prob]; iprm [n_layers, (w_off, n_in, n_out, b_off)...]
    CX_PATCH = 7    # prm [H, W, mode]

cpdef enum MutationCode:
    MUT_GAUSS = 0  # prm [rate, inv_lambda, sigma, aux offset of sigmas or -1]
    MUT_RESET = 1  # prm [rate, inv_lambda, low, high]
    MUT_NGENE = 2  # prm [n]
    MUT_FLIP = 3   # prm [rate, inv_lambda]
    MUT_POLY = 4   # prm [rate, inv_lambda, eta, low, high]
    MUT_BLOCK = 5  # prm [H, W, size, flip, sigma]
    MUT_CLIP = 6   # prm [low, high]

cpdef enum:
    N_PRM = 8       # doubles of parameters per crossover / mutation op
    MAX_CUTS = 256  # most cut points of k-point crossover
