"""speechtools.data"""
