"""Dataset builders for the raw WikiWeb2M, Ele-Fashion and MMSA releases."""
