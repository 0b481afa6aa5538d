"""speechtools.music"""
