#!/usr/bin/env python3
"""Top-k recall of an npswatch hit table against a truth table (by InChIKey first block).

usage: recall.py HITS.tsv PAIRS.tsv QUERIES.msp [--misses]

HITS.tsv   npswatch search output (TSV, '#' run-record lines first).
PAIRS.tsv  ../shared/data/pairs/cross_source_dev.tsv: query_accession, inchikey14, ...
QUERIES.msp the query file searched (to map query_index -> accession via 'DB#:').
A query counts as found at rank r when a hit's InChIKey starts with the pair's inchikey14.
Prints top-1 and top-5 recall over the queries listed in PAIRS.tsv.
"""
import sys, csv, collections

def query_accessions(path):
    acc = []
    with open(path, encoding='utf-8', errors='replace') as f:
        for line in f:
            if line.lower().startswith('name:'):
                acc.append(None)
            elif line.lower().startswith('db#:') and acc:
                acc[-1] = line.split(':', 1)[1].strip()
    return acc

def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    hits_path, pairs_path, queries_path = sys.argv[1:4]
    show = '--misses' in sys.argv
    accs = query_accessions(queries_path)
    truth = collections.defaultdict(set)
    with open(pairs_path) as f:
        for row in csv.DictReader(f, delimiter='\t'):
            truth[row['query_accession']].add(row['inchikey14'])
    ranks = {}
    hitnames = collections.defaultdict(list)
    with open(hits_path, encoding='utf-8') as f:
        rows = [l for l in f if not l.startswith('#')]
    for row in csv.DictReader(rows, delimiter='\t'):
        qi = int(row['query_index']) - 1
        acc = accs[qi]
        if acc not in truth or row['rank'] == '0':
            continue
        r = int(row['rank'])
        hitnames[acc].append((r, row['hit_name'], row['score']))
        if row['hit_inchikey'][:14] in truth[acc] and acc not in ranks:
            ranks[acc] = r
    n = len(truth)
    top1 = sum(1 for a in truth if ranks.get(a, 99) <= 1) / n
    top5 = sum(1 for a in truth if ranks.get(a, 99) <= 5) / n
    print(f"queries {n}  top-1 {top1:.3f}  top-5 {top5:.3f}")
    if show:
        names = {}
        with open(queries_path, encoding='utf-8', errors='replace') as f:
            cur = None
            for line in f:
                if line.lower().startswith('name:'):
                    cur = line.split(':', 1)[1].strip()
                elif line.lower().startswith('db#:'):
                    names[line.split(':', 1)[1].strip()] = cur
        print('\nqueries whose compound is not at rank 1 (rank, query name, top hits):')
        for a in sorted(truth, key=lambda a: (ranks.get(a, 99), names.get(a) or '')):
            if ranks.get(a, 99) > 1:
                top = '; '.join(f'{n} ({s})' for r, n, s in hitnames[a][:3])
                print(f"  {ranks.get(a, '>k')}\t{names.get(a)}\t{top}")

if __name__ == '__main__':
    main()
