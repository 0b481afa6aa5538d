"""speechtools.text"""
