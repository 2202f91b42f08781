"""The examples that end each ``amkit COMMAND --help`` (tested to parse)."""

# `amkit COMMAND --help` ends with these (run from a checkout; a config NAME works anywhere)
EXAMPLES = {
    "demo": "amkit demo\namkit demo --quick --out runs/demo",
    "serve": "amkit serve runs/\namkit serve runs/imdb runs/babi --port 8080",
    "train": "amkit train demo/recall --out runs/recall --set train.epochs=4\n"
    "amkit train configs/babi/memn2n_1k_joint.yaml --out runs/babi-1k\n"
    "amkit train demo/recall --set model.score=additive --print-config\n"
    "amkit train --resume runs/recall\n"
    "amkit train demo/recall --out runs/ddp --nproc 2\n"
    "amkit train demo/recall --out runs/two --nnodes 2 --node-rank 0 --master-addr 10.0.0.1",
    "evaluate": "amkit evaluate runs/recall --split val\n"
    "amkit evaluate runs/imdb --input new_reviews.csv\n"
    "amkit evaluate runs/imdb --save-probabilities",
    "data": "amkit data where\namkit data download multi30k\n"
    "amkit data synth-digits runs/synth-test --n-per-digit 10 --voices test --seed 1\n"
    "amkit data kbqa-wordnet data/kbqa-wordnet --seed 0",
    "explain": "amkit explain runs/babi-1k --task 2 --example 7\n"
    'amkit explain runs/imdb --text "A superb, moving film."\n'
    "amkit explain runs/ml1m --user 42\n"
    "amkit explain runs/fashion_mnist/cnn_sagan-seed0 --example 7 --query-pixel 14,10",
    "recommend": "amkit recommend runs/ml1m --user 42 --k 10",
    "ask": 'amkit ask runs/countries-kvmem "Which region is Palau located in?"',
    "forecast": "amkit forecast runs/ett/patchtst-96 --input recent.csv --out next.csv "
    "--plot next.png\namkit forecast runs/ett/patchtst-96 --input recent.csv --horizon 24 "
    "--out next.csv",
    "translate": 'amkit translate runs/multi30k "a man rides a bike"\n'
    "amkit translate runs/multi30k --input test.en --output test.de --beam 4",
    "classify": "amkit classify runs/fashion_mnist/cnn_sagan-seed0 shirt.png --top 3",
    "train-gan": "amkit train-gan fashion_mnist/sagan --out runs/fashion_mnist/sagan-seed0",
    "kg-train": "amkit kg-train kg/wn18rr_complex --out runs/kg/wn18rr-complex-seed0\n"
    "amkit kg-train kg/fb15k237_rotate --out runs/kg/fb15k237-rotate-seed0 --set seed=1",
    "generate": "amkit generate runs/fashion_mnist/sagan-seed0 --n 64 --out grid.png",
    "compress": "amkit compress runs/imdb --method quantize --out runs/imdb-int8\n"
    "amkit compress runs/imdb --method prune --amount 0.5 --out runs/imdb-pruned",
    "baseline": "amkit baseline imdb/nbsvm --out runs/imdb-nbsvm",
    "ensemble": "amkit ensemble runs/imdb-nbsvm runs/imdb --method weighted --out runs/ens",
    "sweep": "amkit sweep demo/recall --seeds 0,1,2 --grid model.score=dot,additive "
    "--workers 2 --out runs/sweep\n"
    "amkit sweep demo/recall --seeds 0,1 --grid model.score=dot,additive --backend ray "
    "--out runs/ray-sweep",
    "ls": "amkit ls",
    "bench": "amkit bench attention --quick\namkit bench memory --quick\n"
    "amkit bench memory-disk --size 1e7 --work /data/disk-bench",
}
