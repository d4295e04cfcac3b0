"""zett.eval"""
