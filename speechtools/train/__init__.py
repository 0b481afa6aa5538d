"""speechtools.train"""
