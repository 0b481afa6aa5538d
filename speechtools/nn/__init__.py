"""speechtools.nn"""
