"""zett.hypernet"""
