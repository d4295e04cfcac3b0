"""zett.sampling"""
