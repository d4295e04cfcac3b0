"""zett.tokenization"""
