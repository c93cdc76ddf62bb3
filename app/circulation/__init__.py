"""Circulation (obieg dokumentów): documents walk an approval path defined per class."""
