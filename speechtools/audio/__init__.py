"""speechtools.audio"""
