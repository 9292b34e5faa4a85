"""Reading tables and deciding which rows a run learns from and is judged on."""
