"""Stage 4: training records, outputs as one unit, the data card, RL exports."""
