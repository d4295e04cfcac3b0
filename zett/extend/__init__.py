"""zett.extend"""
