"""speechtools.align"""
