#!/usr/bin/env python3
"""Regenerate the bundled reference data from ../shared/data (maintainers only).

Writes, next to this script:
  swgdrug_3.4_dea.msp           the DEA-contributed records of SWGDRUG 3.4 (US-government works),
                                minus the five records held out as example queries and the five
                                withheld as "emerging" substances;
  examples/example_queries.msp  those five DEA records plus one CC BY MassBank record (atrazine,
                                a herbicide absent from the library: the "no good match" case);
  examples/emerging.msp         the five withheld DEA records: three fluorofentanyl isomers and two
                                ring-halogenated alpha-PVP analogues, whose parents (fentanyl,
                                alpha-PVP) stay in the library: real spectra of substances missing
                                from the bundled library, for the early-warning demo and tests;
  examples/lab_a.msp, lab_b.msp, lab_c.msp
                                the demo's three laboratory batches: copies of the records above
                                (each batch = some emerging + some example records).
The records are copied byte for byte; nothing is edited. See README.md here for sources and
licences.
"""
import os, sys

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.join(HERE, '..', '..', '..', 'shared', 'data')
HELD_OUT = ['SWGDRUG-3.4-4820',  # Methyl Phenylacetate (library keeps DEA WRL 'Phenylacetic acid methyl ester')
            'SWGDRUG-3.4-3525',  # 4-Methoxyphenylacetone (library keeps DEA SFL1 record, a PMK-type precursor)
            'SWGDRUG-3.4-5070',  # GHB di-TMS (library keeps 'GHB BSTFA Derivative')
            'SWGDRUG-3.4-3750',  # Pseudoephedrine (library keeps its diastereomer ephedrine: isomer case)
            'SWGDRUG-3.4-3906']  # Cathine (library keeps phenylpropanolamine: stereoisomer case)
EXTRA = ('massbank_ei/massbank_ei_ccby.msp', 'MSBNK-MSSJ-MSJ01072')  # Atrazine, CC BY
EMERGING = ['SWGDRUG-3.4-1985',  # p-Fluorofentanyl (library keeps fentanyl: +F-for-H)
            'SWGDRUG-3.4-2083',  # meta-Fluorofentanyl
            'SWGDRUG-3.4-4635',  # o-Fluorofentanyl
            'SWGDRUG-3.4-4625',  # 4-Chloro-alpha-PVP (library keeps alpha-PVP: +Cl-for-H)
            'SWGDRUG-3.4-4624']  # 4-Bromo-alpha-PVP (+Br-for-H)
# demo batches: (file, [records by DB#]); the emerging substances recur across laboratories
BATCHES = [('lab_a.msp', ['SWGDRUG-3.4-1985', 'SWGDRUG-3.4-4625', 'SWGDRUG-3.4-4820']),
           ('lab_b.msp', ['SWGDRUG-3.4-2083', 'SWGDRUG-3.4-4624', 'SWGDRUG-3.4-3906']),
           ('lab_c.msp', ['SWGDRUG-3.4-4635', 'SWGDRUG-3.4-3525'])]


def records(path):
    rec = []
    with open(path, encoding='utf-8') as f:
        for line in f:
            if line.strip() == '':
                if rec:
                    yield rec
                rec = []
            else:
                rec.append(line)
    if rec:
        yield rec


def db(rec):
    for l in rec:
        if l.startswith('DB#:'):
            return l.split(':', 1)[1].strip()
    return None


def main():
    src = os.path.join(SHARED, 'swgdrug', 'swgdrug_v3.4_dea_subset.msp')
    if not os.path.exists(src):
        sys.exit(f'{src} not found: run from a checkout with ../shared beside it')
    lib, held, emerging = [], {}, {}
    for r in records(src):
        if db(r) in HELD_OUT:
            held[db(r)] = r
        elif db(r) in EMERGING:
            emerging[db(r)] = r
        else:
            lib.append(r)
    assert len(held) == len(HELD_OUT), 'a held-out record is missing'
    assert len(emerging) == len(EMERGING), 'an emerging record is missing'
    with open(os.path.join(HERE, 'swgdrug_3.4_dea.msp'), 'w', encoding='utf-8') as f:
        f.write('\n'.join(''.join(r) for r in lib) + '\n')
    extra = [r for r in records(os.path.join(SHARED, EXTRA[0])) if db(r) == EXTRA[1]]
    assert len(extra) == 1
    with open(os.path.join(HERE, 'examples', 'example_queries.msp'), 'w', encoding='utf-8') as f:
        f.write('\n'.join(''.join(held[k]) for k in HELD_OUT) + '\n' + ''.join(extra[0]))
    with open(os.path.join(HERE, 'examples', 'emerging.msp'), 'w', encoding='utf-8') as f:
        f.write('\n'.join(''.join(emerging[k]) for k in EMERGING) + '\n')
    every = dict(held, **emerging)
    for name, ids in BATCHES:
        with open(os.path.join(HERE, 'examples', name), 'w', encoding='utf-8') as f:
            f.write('\n'.join(''.join(every[k]) for k in ids) + '\n')
    print(f'library: {len(lib)} records; examples: {len(held) + 1}; emerging: {len(emerging)}')


if __name__ == '__main__':
    main()
