"""zett.heuristics"""
