"""speechtools.scoring"""
