"""Off-the-shelf speech recognisers used for intelligibility scoring and data building."""
