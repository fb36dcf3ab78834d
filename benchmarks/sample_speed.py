"""Time ``GANAugmenter.sample(100_000)`` on one Adult model, and where the time goes.

The model is fitted here (``--epochs``, seed 0) or loaded from a file written
by ``--save``, so the same weights can be timed under two versions of the
package: run this script with ``PYTHONPATH`` pointing at each checkout. One
warm-up call is not timed; then ``--repeats`` calls are, and the script prints
their minimum, median and maximum as JSON. ``--profile`` adds a cProfile of one
more call (the functions with the most time of their own). ``--parts`` times
the parts of a call apart, best of ``--repeats``: the folded generator alone
on noise and conditions drawn beforehand (its matrix products), the whole
generator side (``sample_encoded``: noise, products, level draws), and
decoding back to pandas.

    PYTHONPATH=. python benchmarks/sample_speed.py --epochs 1 --save /tmp/adult1.gana
    PYTHONPATH=. python benchmarks/sample_speed.py --load /tmp/adult1.gana --repeats 7 --profile
    PYTHONPATH=. python benchmarks/sample_speed.py --load /tmp/adult1.gana --repeats 7 --parts

``--gan`` passes further GANAugmenter parameters to the model fitted here (a
JSON object, e.g. '{"generator_dim": [64, 64], "noise_dim": 32}').

The box this runs on matters more than anything here: on a shared 2-core VM
the same call swings by about 0.1-0.2 s, so compare runs taken side by side.
"""

import argparse
import cProfile
import io
import json
import os
import pstats
import time

import numpy as np
import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
DATA_DIR = os.path.join(HERE, "..", "..", "shared", "data", "adult")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=1, help="epochs of the model fitted here (default: 1)")
    parser.add_argument("--load", help="time this saved model instead of fitting one")
    parser.add_argument("--save", help="save the fitted model here")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one more call")
    parser.add_argument("--parts", action="store_true", help="time the generator's products, the generator side "
                        "and decoding apart")
    parser.add_argument("--gan", type=json.loads, default={}, help="further GANAugmenter parameters, a JSON object")
    parser.add_argument("--data-dir", default=DATA_DIR)
    args = parser.parse_args(argv)

    import ganaugment
    import torch
    from ganaugment import GANAugmenter

    if args.load:
        model = GANAugmenter.load(args.load)
    else:
        train = pd.read_csv(os.path.join(args.data_dir, "adult_train.csv"))
        model = GANAugmenter(**{"epochs": args.epochs, "random_state": 0, **args.gan}).fit(train)
        if args.save:
            model.save(args.save)
    model.sample(args.rows)  # warm-up: thread pools and first allocations
    seconds = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        model.sample(args.rows)
        seconds.append(time.perf_counter() - start)
    print(json.dumps({
        "package": os.path.dirname(ganaugment.__file__),
        "torch_threads": torch.get_num_threads(),
        "rows": args.rows,
        "min_s": round(min(seconds), 3),
        "median_s": round(float(np.median(seconds)), 3),
        "max_s": round(max(seconds), 3),
    }), flush=True)
    if args.parts:
        print(json.dumps(time_parts(model, args.rows, args.repeats)), flush=True)
    if args.profile:
        profile = cProfile.Profile()
        profile.runcall(model.sample, args.rows)
        text = io.StringIO()
        pstats.Stats(profile, stream=text).sort_stats("tottime").print_stats(12)
        print(text.getvalue())


def best_of(fn, repeats):
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return round(min(times), 4)


def time_parts(model, rows, repeats):
    """Seconds of the parts of ``model.sample(rows)`` (a table model on the CPU), best of ``repeats``."""
    import torch
    from ganaugment._torch import make_generator
    from ganaugment.tabular.model import SAMPLE_BLOCK_CPU

    gan = model.model_
    slot, classes = gan.draw_conditions(rows, None, {}, np.random.default_rng(0))
    gen = make_generator(0, gan.device)
    network = gan.generator.eval().folded(torch.cat([gan._disc_flat, gan._cont_index]))
    blocks = []
    for lo in range(0, rows, SAMPLE_BLOCK_CPU):
        s = torch.as_tensor(slot[lo : lo + SAMPLE_BLOCK_CPU])
        c = torch.as_tensor(classes[lo : lo + SAMPLE_BLOCK_CPU])
        blocks.append((gan._noise(len(s), gen), gan._active_slots(s, c)))

    def products():
        with torch.inference_mode():
            for noise, active in blocks:
                network(noise, active)

    encoded = gan.sample_encoded(slot, classes, seed=0)
    return {
        "rows": rows,
        "generator_products_s": best_of(products, repeats),
        "sample_encoded_s": best_of(lambda: gan.sample_encoded(slot, classes, seed=0), repeats),
        "decode_s": best_of(lambda: model.encoder_.inverse_transform(encoded, np.random.default_rng(0)), repeats),
    }


if __name__ == "__main__":
    main()
