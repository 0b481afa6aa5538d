"""speechtools.correction"""
