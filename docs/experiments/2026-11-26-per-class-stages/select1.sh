#!/bin/sh
. /work/main/.venv/bin/activate
RUN=${RUN:-/tmp/s9}  # the run folder
cd $RUN
deepmir predict --model default --stages 1 --input /tmp/s8/select-740 --out pred-740-041-s1 > pred-740-041-s1.log 2>&1
deepmir evaluate --prediction pred-740-041-s1 --reference /tmp/s8/select-740 --out eval-740-041-s1 > eval-740-041-s1.log 2>&1
python3 /tmp/s8/pooled.py /tmp/s8/eval/eval-740-041 eval-740-041-s1 > select1.txt
echo done > SELECT1_DONE
