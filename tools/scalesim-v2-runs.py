#!/usr/bin/env python3
"""Re-runs real SCALE-Sim v2 on every case of test/golden/scalesim-v2-runs.json and rewrites the
figures SCALE-Sim produced (computeReport, layers, scalesimLayerNames, scalesimSeconds), keeping
everything else (the inputs, knownMismatch diagnoses, deltasim timings) as it is.

SCALE-Sim is not installable from the npm registry, so this runs outside `npm test`:

    git clone https://github.com/scalesim-project/scale-sim-v2 /tmp/scalesim-ref
    # check out the per-file revisions listed under "scalesimSource" in the JSON, then:
    pip install numpy tqdm          # SCALE-Sim's own dependencies
    python3 tools/scalesim-v2-runs.py /tmp/scalesim-ref [--only NAME_SUBSTRING]
    git diff test/golden/scalesim-v2-runs.json

Each case is written to a scratch directory as SCALE-Sim's inputs (the case's topology CSV and
.cfg, as stored), run with SCALE-Sim's own entry point `scalesim/scale.py -c CFG -t TOPOLOGY -p DIR
[-i gemm]`, and its COMPUTE_REPORT.csv is read back byte for byte. Layer names come from SCALE-Sim's
topology loader (depthwise `DP` layers expanded per channel), as its reports number them.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'golden', 'scalesim-v2-runs.json')


def run_name(config_lines):
    for line in config_lines:
        key, _, value = line.partition('=')
        if key.strip() == 'run_name':
            return value.strip()
    return 'scale_sim_run'


def layer_names(checkout, topology, gemm):
    code = (
        'import json, sys\n'
        'from scalesim.topology_utils import topologies\n'
        't = topologies()\n'
        't.load_arrays(topofile=sys.argv[1], mnk_inputs=sys.argv[2] == "gemm")\n'
        'print(json.dumps(t.get_layer_names()))\n'
    )
    out = subprocess.run(
        [sys.executable, '-c', code, topology, 'gemm' if gemm else 'conv'],
        cwd=checkout, env={**os.environ, 'PYTHONPATH': checkout}, check=True, capture_output=True, text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def split_row(line):
    cells = [c.strip() for c in line.rstrip(',').split(',')]
    return {
        'totalCycles': int(cells[1]),
        'stallCycles': int(cells[2]),
        'overallUtilPercent': cells[3],
        'mappingEfficiencyPercent': cells[4],
        'computeUtilPercent': cells[5],
    }


def run_case(checkout, case, scratch):
    os.makedirs(scratch)
    topology = os.path.join(scratch, 'gemm.csv' if case['gemm'] else 'topology.csv')
    config = os.path.join(scratch, 'scale.cfg')
    with open(topology, 'w') as f:
        f.write('\n'.join(case['csv']) + '\n')
    with open(config, 'w') as f:
        f.write('\n'.join(case['config']) + '\n')
    logs = os.path.join(scratch, 'runs')
    argv = [sys.executable, os.path.join(checkout, 'scalesim', 'scale.py'), '-c', config, '-t', topology, '-p', logs]
    if case['gemm']:
        argv += ['-i', 'gemm']
    started = time.time()
    subprocess.run(argv, cwd=checkout, env={**os.environ, 'PYTHONPATH': checkout}, check=True,
                   stdout=subprocess.DEVNULL)
    seconds = round(time.time() - started, 1)
    with open(os.path.join(logs, run_name(case['config']), 'COMPUTE_REPORT.csv'), newline='') as f:
        report = f.read().split('\n')
    if report and report[-1] == '':
        report.pop()
    return {
        'scalesimLayerNames': layer_names(checkout, topology, case['gemm']),
        'computeReport': report,
        'layers': [split_row(line) for line in report[1:]],
        'scalesimSeconds': seconds,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('checkout', help='a local scale-sim-v2 checkout (the directory holding scalesim/)')
    parser.add_argument('--only', default='', help='re-run only cases whose name contains this text')
    args = parser.parse_args()
    checkout = os.path.abspath(args.checkout)
    if not os.path.isfile(os.path.join(checkout, 'scalesim', 'scale.py')):
        sys.exit(f'scalesim-v2-runs: {checkout}: no scalesim/scale.py (not a scale-sim-v2 checkout)')
    with open(GOLDEN) as f:
        golden = json.load(f)
    with tempfile.TemporaryDirectory(prefix='scalesim-v2-runs-') as scratch:
        for index, case in enumerate(golden['cases']):
            if args.only not in case['name']:
                continue
            case.update(run_case(checkout, case, os.path.join(scratch, str(index))))
            print(f"{case['name']}: {len(case['layers'])} layers, {case['scalesimSeconds']} s", file=sys.stderr)
    with open(GOLDEN, 'w') as f:
        json.dump(golden, f, indent=2, ensure_ascii=False)
        f.write('\n')


if __name__ == '__main__':
    main()
