"""`ccpipe demo`: the production pipeline on one machine, with nothing to install but Python.

An embedded Kafka-compatible broker (tansu, `broker`), the stream worker, the store sink and
the simulator feed run as child processes of the demo (`supervisor`, `process`); the demo
prints where to look and a progress line read from the worker's /metrics (`progress`), and
on Ctrl-C lets the pipeline catch up (`pipeline.kafka.group_lag.wait_caught_up`) before it
stops every child. See docs/demo.md.
"""
