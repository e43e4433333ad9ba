"""Miner economics: hashprice, fleets, production, breakeven, halving stress, shocks."""
