"""speechtools.cli"""
