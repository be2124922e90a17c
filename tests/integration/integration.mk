# owned by its area
