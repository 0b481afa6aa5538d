"""Song writing with SongMASS model directories: lyric-to-melody and melody-to-lyric generation."""
