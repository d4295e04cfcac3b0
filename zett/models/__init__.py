"""zett.models"""
